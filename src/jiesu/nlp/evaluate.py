"""Measuring a classifier: accuracy, macro-F1, top-3 accuracy and per-class figures, on a
held-out file or by stratified k-fold cross-validation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from jiesu.errors import BadInput
from jiesu.nlp.model import Doc, TextClassifier

Top = list[list[tuple[str, float]]]


def metrics(truth: Sequence[str], top: Top) -> dict[str, Any]:
    """Figures for predictions ``top`` (best first per text) against the true labels.
    Macro-F1 averages over the classes present in the truth or the predictions, so a class
    the model never predicts counts as F1 = 0 instead of vanishing."""
    if len(truth) != len(top):
        raise BadInput("predictions", f"{len(truth)} labels but {len(top)} predictions")
    n = len(truth)
    first = [row[0][0] if row else "" for row in top]
    classes = sorted(set(truth) | set(first) - {""})
    per_class: dict[str, dict[str, float | int]] = {}
    for c in classes:
        tp = sum(1 for t, p in zip(truth, first, strict=True) if t == c and p == c)
        predicted = first.count(c)
        support = sum(1 for t in truth if t == c)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[c] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    return {
        "n": n,
        "accuracy": sum(t == p for t, p in zip(truth, first, strict=True)) / n if n else 0.0,
        "macro_f1": float(np.mean([v["f1"] for v in per_class.values()])) if per_class else 0.0,
        "top3_accuracy": (
            sum(t in [lab for lab, _ in row[:3]] for t, row in zip(truth, top, strict=True)) / n
            if n
            else 0.0
        ),
        "per_class": per_class,
    }


def cross_validate(
    texts: Sequence[Doc],
    labels: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
    make_model: Callable[[], TextClassifier] = TextClassifier,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Out-of-fold predictions for every text, scored together, plus each fold's macro-F1
    so the spread between folds is visible."""
    say = progress or (lambda _msg: None)
    if folds < 2:
        raise BadInput("folds", "need at least 2 folds")
    smallest = min(Counter(labels).values())
    if smallest < folds:
        raise BadInput(
            "folds",
            f"the smallest class has {smallest} example(s); use --folds {smallest} or fewer",
        )
    y = np.array(labels)
    top: Top = [[] for _ in texts]
    fold_f1: list[float] = []
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for i, (train, test) in enumerate(split.split(np.zeros(len(y)), y), start=1):
        say(f"fold {i}/{folds}: training on {len(train)}, testing on {len(test)}")
        model = make_model().fit([texts[j] for j in train], [labels[j] for j in train])
        predicted = model.predict_top([texts[j] for j in test], k=3)
        for j, row in zip(test, predicted, strict=True):
            top[j] = row
        fold_f1.append(metrics([labels[j] for j in test], predicted)["macro_f1"])
    result = metrics(labels, top)
    result["folds"] = folds
    result["fold_macro_f1"] = fold_f1
    return result
