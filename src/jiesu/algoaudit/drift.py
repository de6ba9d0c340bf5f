"""Drift against the training period: has what callers write moved away from what the model
learnt from? Three views, each with the population stability index (PSI):

- the category mix (at the model's own label level);
- the text length (fixed bins, so profiles made at different times compare);
- the vocabulary: the share of character pairs in current texts that the training texts'
  most frequent VOCAB pairs cover, against the same share in the training texts themselves.

A classifier trained by `jiesu nlp train` or `nlp retrain` keeps its training profile in its
metadata (``profile``); for one without, the requests received before it was trained stand in,
and for the taxonomy's keywords (never trained) the first half of the period does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from jiesu.kit.stats import psi, psi_reading
from jiesu.nlp.profile import LENGTH_EDGES, pairs, profile


def compare(
    reference: dict[str, Any], texts: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    current = profile(texts, labels)
    keys = sorted(set(reference.get("labels", {})) | set(current["labels"]))
    mix = psi(
        [reference["labels"].get(k, 0) for k in keys], [current["labels"].get(k, 0) for k in keys]
    )
    length = psi(reference.get("length_bins", []), current["length_bins"])
    vocab = set(reference.get("vocabulary", []))
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(pairs(t))
    total = sum(counts.values())
    coverage = sum(n for p, n in counts.items() if p in vocab) / total if total and vocab else None
    ref_cov = reference.get("vocabulary_coverage")
    ref_labels, cur_labels = reference.get("labels", {}), current["labels"]
    ref_n, cur_n = sum(ref_labels.values()) or 1, sum(cur_labels.values()) or 1
    moves = sorted(
        (
            {
                "label": k,
                "training_share": round(ref_labels.get(k, 0) / ref_n, 4),
                "current_share": round(cur_labels.get(k, 0) / cur_n, 4),
            }
            for k in keys
        ),
        key=lambda m: -abs(m["current_share"] - m["training_share"]),
    )[:8]
    return {
        "reference_n": reference.get("n"),
        "current_n": len(texts),
        "category_mix": {"psi": _r(mix), "reading": psi_reading(mix), "largest_moves": moves},
        "text_length": {
            "psi": _r(length),
            "reading": psi_reading(length),
            "edges": list(LENGTH_EDGES),
            "reference": reference.get("length_bins"),
            "current": current["length_bins"],
        },
        "vocabulary": {
            "reference_coverage": ref_cov,
            "current_coverage": _r(coverage),
            "drop": _r(ref_cov - coverage)
            if ref_cov is not None and coverage is not None
            else None,
        },
    }


def _r(x: float | None) -> float | None:
    return round(x, 4) if x is not None else None
