"""Rates per group with their intervals, and which groups are served measurably worse.

A group is flagged when its rate is lower than the rest's and the difference survives a test
(Fisher's exact for small counts, else the z test of two proportions) after the
Benjamini–Hochberg adjustment over every group of the same dimension — not when it merely
falls under a threshold, which small groups do by chance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jiesu.kit.stats import benjamini_hochberg, reliability, two_proportions, wilson

# Fewer cases than this: shown, never tested (no claim about a group of five).
MIN_GROUP = 20
ALPHA = 0.05
DIMENSIONS = ("category", "district", "channel", "channel_family")


@dataclass(slots=True)
class Judged:
    """One automatic decision and whether people's final record agrees with it."""

    correct: bool
    confidence: float | None
    groups: dict[str, str | None] = field(default_factory=dict)


def _rate(k: int, n: int) -> dict[str, Any]:
    ci = wilson(k, n)
    return {
        "n": n,
        "agree": k,
        "rate": round(k / n, 4) if n else None,
        "ci": [round(ci[0], 4), round(ci[1], 4)] if ci else None,
    }


def breakdown(
    judged: Sequence[Judged], dimension: str, label: Callable[[str], str]
) -> list[dict[str, Any]]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for j in judged:
        key = j.groups.get(dimension) or "(none)"
        counts[key][0] += j.correct
        counts[key][1] += 1
    total_k = sum(k for k, _ in counts.values())
    total_n = sum(n for _, n in counts.values())
    rows = []
    for key, (k, n) in counts.items():
        row = {
            "group": key,
            "name": label(key),
            **_rate(k, n),
            "p_value": None,
            "q_value": None,
            "difference": None,
            "test": None,
            "flag": False,
        }
        rest_k, rest_n = total_k - k, total_n - n
        if n >= MIN_GROUP and rest_n >= MIN_GROUP:
            c = two_proportions(k, n, rest_k, rest_n)
            if c is not None:
                row.update(p_value=c.p_value, difference=round(c.difference, 4), test=c.test)
        rows.append(row)
    tested = [r for r in rows if r["p_value"] is not None]
    for r, q in zip(tested, benjamini_hochberg([r["p_value"] for r in tested]), strict=True):
        r["q_value"] = round(q, 4)
        r["p_value"] = round(r["p_value"], 4)
        r["flag"] = q < ALPHA and r["difference"] < 0
    rows.sort(key=lambda r: (-r["n"], r["group"]))
    return rows


def summarise(judged: Sequence[Judged], labels: dict[str, Callable[[str], str]]) -> dict[str, Any]:
    k = sum(j.correct for j in judged)
    out: dict[str, Any] = {"overall": _rate(k, len(judged)), "groups": {}}
    for dim in DIMENSIONS:
        if any(dim in j.groups for j in judged):
            out["groups"][dim] = breakdown(judged, dim, labels.get(dim, str))
    scored = [j for j in judged if j.confidence is not None]
    if scored:
        bins, ece = reliability(
            [min(1.0, max(0.0, j.confidence or 0.0)) for j in scored], [j.correct for j in scored]
        )
        out["calibration"] = {
            "n": len(scored),
            "ece": round(ece, 4) if ece is not None else None,
            "bins": [
                {
                    "low": b.low,
                    "high": b.high,
                    "n": b.n,
                    "confidence": round(b.mean_confidence, 4)
                    if b.mean_confidence is not None
                    else None,
                    "accuracy": round(b.accuracy, 4) if b.accuracy is not None else None,
                }
                for b in bins
            ],
        }
    out["flags"] = [
        {
            "dimension": dim,
            **{k: r[k] for k in ("group", "name", "n", "rate", "ci", "difference", "q_value")},
        }
        for dim, rows in out["groups"].items()
        for r in rows
        if r["flag"]
    ]
    return out
