"""How a ``UnitRouter`` is trained (see ``jiesu.dispatch.router``): the text model on a capped
sample, then the history counts, α and the views' weights from a held-out slice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from jiesu.dispatch.router_history import HistoryPrior
from jiesu.nlp.model import Doc, TextClassifier

if TYPE_CHECKING:
    from jiesu.dispatch.router import RouteExample, UnitRouter

Say = Callable[[str], None]
# Fewer training rows than this: no held-out slice; the views get fixed, even weights.
MIN_HOLDOUT = 50
DEFAULT_WEIGHTS = (1.0, 1.0, 0.5)
# Rows of each unit the text model keeps at least when it reads a sample (max_text_rows).
MIN_TEXT_ROWS = 20
ALPHAS = (0.25, 1.0, 4.0, 16.0, 64.0)
# Upper bound of a view's weight (a weight is also an inverse temperature).
MAX_WEIGHT = 20.0


def fit_router(
    router: UnitRouter, examples: Sequence[RouteExample], y: NDArray[np.int64], say: Say
) -> None:
    """Sets the router's text model, weights and history counts; ``y``: unit numbers."""
    params = router.params
    every = np.arange(len(y))
    alpha, text, refit = ALPHAS[2], None, True
    router.weights = [1.0, 0.0, 0.0]
    held = _held_out(y, params.holdout, params.max_holdout) if params.prior else None
    if held is not None:
        rest = np.setdiff1d(every, held)
        alpha, router.weights, text = _fit_combination(router, examples, y, rest, held, say)
        # Refitting with the held-out rows doubles the training time (the SVMs are most of
        # it): worth it only when they are a real share of what the text model can read.
        cap = params.max_text_rows or len(y)
        refit = len(rest) < cap and len(held) > params.keep_share * len(y)
    elif params.prior:
        router.weights = list(DEFAULT_WEIGHTS)
    if text is None or refit:
        text = _fit_text(router, examples, every, y, say)
    router.text = text
    router.prior = (
        HistoryPrior.count(examples, y, len(router.units), alpha) if params.prior else None
    )
    router.metadata.update(alpha=alpha, text_rows=int(text.metadata["n"]))


def _fit_text(
    router: UnitRouter,
    examples: Sequence[RouteExample],
    rows: NDArray[np.int64],
    y: NDArray[np.int64],
    say: Say,
) -> TextClassifier:
    docs = router.docs([examples[i] for i in rows])
    if router.params.max_copies is not None and router.params.prior:
        keep = _fewer_copies(docs, y[rows], router.params.max_copies)
        rows, docs = rows[keep], [docs[i] for i in keep]
    chosen = capped_sample(
        np.arange(len(rows)), y[rows], router.params.max_text_rows, MIN_TEXT_ROWS
    )
    say(f"text model on {len(chosen)} rows")
    docs = [docs[i] for i in chosen]
    return TextClassifier().fit(docs, [router.units[y[rows[i]]] for i in chosen], progress=say)


def _fewer_copies(docs: Sequence[Doc], y: NDArray[np.int64], most: int) -> NDArray[np.int64]:
    """Positions keeping each (document, unit) pair at most ``most`` times (random copies)."""
    seen: Counter[tuple[Doc, int]] = Counter()
    keep = []
    for i in np.random.default_rng(0).permutation(len(docs)).tolist():
        key = (docs[i], int(y[i]))
        if seen[key] < most:
            seen[key] += 1
            keep.append(i)
    return np.sort(np.array(keep, dtype=np.int64))


def capped_sample(
    rows: NDArray[np.int64], y: NDArray[np.int64], cap: int | None, minimum: int
) -> NDArray[np.int64]:
    """At most about ``cap`` of ``rows`` (labels ``y``), each label in proportion but with at
    least ``minimum`` rows (or all it has), so that rare labels stay known."""
    if cap is None or len(rows) <= cap:
        return rows
    shuffled = np.random.default_rng(0).permutation(rows)
    labels = y[shuffled]
    counts = np.bincount(labels)
    quota = np.maximum(np.minimum(counts, minimum), np.round(counts * cap / len(rows)))
    # Each row's rank among the shuffled rows of its label: the first ``quota`` are kept.
    order = np.argsort(labels, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(len(labels), dtype=np.int64)
    rank[order] = np.arange(len(labels)) - starts[labels[order]]
    out: NDArray[np.int64] = np.sort(shuffled[rank < quota[labels]])
    return out


def _held_out(y: NDArray[np.int64], share: float, most: int) -> NDArray[np.int64] | None:
    """Random rows, none of a unit with fewer than three rows: such a unit could vanish from
    the fitted part and teaches nothing about the weights anyway."""
    size = min(int(len(y) * share), most)
    if len(y) < MIN_HOLDOUT or size < 10:
        return None
    candidates = np.flatnonzero(np.bincount(y)[y] >= 3)
    if len(candidates) < size:
        return None
    return np.sort(np.random.default_rng(0).choice(candidates, size=size, replace=False))


def _fit_combination(
    router: UnitRouter,
    examples: Sequence[RouteExample],
    y: NDArray[np.int64],
    rest: NDArray[np.int64],
    held: NDArray[np.int64],
    say: Say,
) -> tuple[float, list[float], TextClassifier | None]:
    """α and the views' weights from rows neither view was fitted on, and the text model
    fitted without those rows (it may be kept: see ``RouterParams.keep_share``)."""
    say(f"weighing text and history: {len(rest)} rows to fit, {len(held)} held out")
    if len(np.unique(y[rest])) < 2:
        return ALPHAS[2], list(DEFAULT_WEIGHTS), None
    text = _fit_text(router, examples, rest, y, say)
    held_ex = [examples[i] for i in held]
    part_ex = [examples[i] for i in rest]
    log_text = router.text_log_proba(text, held_ex)
    best: tuple[float, HistoryPrior] | None = None
    rows = np.arange(len(held))
    for alpha in ALPHAS:
        prior = HistoryPrior.count(part_ex, y[rest], len(router.units), alpha)
        joint, area = prior.log_proba(held_ex)
        loss = float(-(joint[rows, y[held]] + area[rows, y[held]]).mean())
        if best is None or loss < best[0]:
            best = (loss, prior)
    assert best is not None
    prior = best[1]
    joint, area = prior.log_proba(held_ex)
    # A unit missing from the fitted part says nothing about how to weigh the views.
    known = np.isin(y[held], y[rest])
    weights = fit_weights([log_text[known], joint[known], area[known]], y[held][known])
    say(f"weights text={weights[0]:.2f} category+area={weights[1]:.2f} area={weights[2]:.2f}")
    # Kept only if it knows every unit: the saved router and its text model share them.
    return prior.alpha, weights, text if text.labels == router.units else None


def fit_weights(views: Sequence[NDArray[np.float64]], y: NDArray[np.int64]) -> list[float]:
    """Non-negative weights ``w`` minimising the log-loss of ``softmax(Σ w_v · view_v)`` on
    held-out rows: the blend of the views and their calibration in one (stacking)."""
    if len(y) == 0:
        return [1.0] + [0.0] * (len(views) - 1)
    rows = np.arange(len(y))

    def loss(w: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        z = sum((wi * v for wi, v in zip(w, views, strict=True)), np.zeros_like(views[0]))
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        p = np.exp(logp)
        grad = np.array([float(((p * v).sum(axis=1) - v[rows, y]).mean()) for v in views])
        return float(-logp[rows, y].mean()), grad

    result = minimize(
        loss,
        np.ones(len(views)),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, MAX_WEIGHT)] * len(views),
    )
    weights = [float(w) for w in result.x]
    return weights if any(w > 0 for w in weights) else [1.0] + [0.0] * (len(views) - 1)
