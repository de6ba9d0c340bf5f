"""``jiesu nlp replies``: score every reply in a file (an export of answered requests) and show
the supervisor where answers are weak: the distribution, the flags, the worst examples."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from jiesu.errors import BadInput
from jiesu.nlp.cliout import fail as _fail
from jiesu.nlp.cliout import say as _say
from jiesu.nlp.replies import (
    WEIGHTS,
    ReplyQuality,
    ReplyScorer,
    Tagged,
    TemplateMemory,
    WordRarity,
    fit_reply_stats,
    template_shingles,
)
from jiesu.nlp.textrows import load_rows, parse_time

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


@dataclass(frozen=True)
class Answered:
    key: str
    request: str
    reply: str
    unit: str
    at: datetime | None


def _snippet(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat[:width] + ("…" if len(flat) > width else "")


def read_answered(
    data: Path,
    text_col: list[str],
    reply_col: str,
    unit_col: str | None,
    time_col: str | None,
    key_col: str | None,
    encoding: str | None,
) -> tuple[list[Answered], int]:
    """Rows with a request text and a reply, in the order earlier replies are looked up: by
    time when a time column is given (unreadable times go last), else as in the file."""
    others = [c for c in (reply_col, unit_col, time_col, key_col) if c]
    table = load_rows(data, text_col, others, encoding=encoding, require=[reply_col])
    rows = []
    for i, text in enumerate(table.texts):
        key = table.columns[key_col][i] if key_col else ""
        rows.append(
            Answered(
                key or f"line {table.lines[i]}",
                text,
                table.columns[reply_col][i],
                table.columns[unit_col][i] if unit_col else "",
                parse_time(table.columns[time_col][i]) if time_col else None,
            )
        )
    if time_col:
        rows.sort(key=lambda r: (r.at is None, r.at or datetime.min))
    return rows, table.skipped


def score_all(rows: list[Answered]) -> list[ReplyQuality]:
    """Each reply against the earlier replies of its unit (all earlier ones without units)."""
    # Each request is tagged and each reply shingled once, for the statistics and the scores.
    tagged = [Tagged.of(r.request) for r in rows]
    scorer = ReplyScorer(WordRarity.fit(tagged))
    items = [template_shingles(r.reply) for r in rows]
    reply_stats = fit_reply_stats(items)
    memories: dict[str, TemplateMemory] = {}
    out = []
    for r, t, i in zip(rows, tagged, items, strict=True):
        memory = memories.setdefault(r.unit, TemplateMemory(reply_stats))
        out.append(scorer.score(t, r.reply, memory=memory, remember_as=r.key, template_items=i))
    return out


def _quantiles(values: list[int]) -> dict[str, float]:
    if len(values) == 1:
        return {f"p{round(q * 100)}": float(values[0]) for q in QUANTILES}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {f"p{round(q * 100)}": round(cuts[round(q * 100) - 1], 1) for q in QUANTILES}


def summarise(
    rows: list[Answered], scores: list[ReplyQuality], *, worst: int, with_rows: bool
) -> dict[str, Any]:
    overall = [s.overall for s in scores]
    flags = Counter(f.split(" (")[0] for s in scores for f in s.flags)
    bands = Counter(min(9, s.overall // 10) for s in scores)
    order = sorted(range(len(scores)), key=lambda i: (scores[i].overall, i))
    result: dict[str, Any] = {
        "n": len(scores),
        "mean": round(statistics.fmean(overall), 1),
        "quantiles": _quantiles(overall),
        "bands": {f"{b * 10}-{b * 10 + 9 if b < 9 else 100}": bands[b] for b in range(10)},
        "flag_counts": dict(flags.most_common()),
        "component_means": {
            name: round(statistics.fmean(s.components()[name].score for s in scores), 3)
            for name in WEIGHTS
        },
        "weights": dict(WEIGHTS),
        "lowest": [
            {
                "key": rows[i].key,
                "overall": scores[i].overall,
                "flags": list(scores[i].flags),
                "request": _snippet(rows[i].request, 50),
                "reply": _snippet(rows[i].reply, 90),
            }
            for i in order[:worst]
        ],
    }
    if with_rows:
        result["rows"] = [{"key": r.key, **s.as_dict()} for r, s in zip(rows, scores, strict=True)]
    return result


def _print(result: dict[str, Any]) -> None:
    q = result["quantiles"]
    print(
        f"{result['n']} replies  mean {result['mean']}  "
        + "  ".join(f"{k}={v:g}" for k, v in q.items())
    )
    peak = max(result["bands"].values()) or 1
    for band, count in result["bands"].items():
        print(f"  {band:>7} {count:>6}  {'#' * round(40 * count / peak)}")
    print("flags:")
    for flag, count in result["flag_counts"].items():
        print(f"  {count:>6}  {flag}")
    print(
        "component means: "
        + ", ".join(f"{k} {v:.2f}" for k, v in result["component_means"].items())
    )
    print("lowest scores:")
    for row in result["lowest"]:
        print(f"  {row['overall']:>3}  {row['key']}: {row['request']}")
        print(f"       reply: {row['reply']}")
        if row["flags"]:
            print(f"       flags: {'; '.join(row['flags'])}")


@app.command("replies")
def replies(
    data: Path = typer.Option(..., "--data", help="CSV, XLSX or JSONL file of answered requests"),
    text_col: list[str] = typer.Option(..., "--text-col", help="request text; repeat to join"),
    reply_col: str = typer.Option(..., "--reply-col", help="column with the unit's reply"),
    unit_col: str | None = typer.Option(None, "--unit-col", help="column naming the unit"),
    time_col: str | None = typer.Option(None, "--time-col", help="reply time, for the order"),
    key_col: str | None = typer.Option(None, "--key-col", help="id column (default: line)"),
    worst: int = typer.Option(5, "--worst", min=0, help="lowest-scoring replies to show"),
    with_rows: bool = typer.Option(False, "--rows", help="every row's scores in the JSON"),
    encoding: str | None = typer.Option(None, "--encoding", help="file encoding"),
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON"),
) -> None:
    """Score the quality of every reply in a file: relevance, concreteness, template use,
    courtesy and length."""
    try:
        rows, skipped = read_answered(
            data, text_col, reply_col, unit_col, time_col, key_col, encoding
        )
    except BadInput as exc:
        raise _fail(exc.message) from None
    _say(f"read {len(rows)} answered requests from {data.name} ({skipped} without text/reply)")
    started = time.monotonic()
    scores = score_all(rows)
    seconds = time.monotonic() - started
    _say(f"scored in {seconds:.2f} s ({len(rows) / max(seconds, 1e-9):.0f} replies/s)")
    result = summarise(rows, scores, worst=worst, with_rows=with_rows and as_json)
    result["seconds"] = round(seconds, 3)
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        _print(result)


if __name__ == "__main__":
    app()
