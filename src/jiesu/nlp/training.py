"""Retraining the category classifier from the city's own confirmed history.

Every request whose category a person confirmed or corrected (at dispatch, or with the
``categorize`` action) is a labelled example. ``retrain`` trains a candidate on them, scores
it against what intake uses today (the active model, or the keyword classifier at cold start)
on the most recent confirmed requests, and activates it only if it is at least as good.
The holdout is the newest part of the history rather than a random sample because that is
what the next weeks of requests will look like (new topics, renamed units, seasons).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.city.models import Category
from jiesu.errors import BadInput
from jiesu.nlp import registry
from jiesu.nlp.evaluate import Top, metrics
from jiesu.nlp.keywords import KeywordClassifier
from jiesu.nlp.model import Doc, TextClassifier
from jiesu.nlp.profile import profile
from jiesu.nlp.suggest import keyword_classifier
from jiesu.workflow.models import Event, ServiceRequest

# Fewer confirmed requests than this and the keyword classifier stays: a model trained on a
# few dozen examples would be confidently wrong on everything it has not seen.
MIN_HISTORY = 200
# A category with fewer confirmed examples is left out of training (reported), not guessed.
MIN_PER_CLASS = 3
HOLDOUT_SHARE = 0.2
# A candidate may be this much worse on the holdout and still replace the active model: it
# has seen newer data, which the holdout under-represents.
TOLERANCE = 0.005


@dataclass
class History:
    docs: list[Doc] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    received: list[datetime] = field(default_factory=list)
    # What intake suggested first for each example ("" when nothing), to measure live accuracy.
    suggested: list[str] = field(default_factory=list)


def confirmed_history(
    session: Session, *, since: datetime | None = None, include_synthetic: bool = True
) -> History:
    """Confirmed (title, text) → category code, oldest first."""
    stmt = (
        select(
            ServiceRequest.id,
            ServiceRequest.title,
            ServiceRequest.text,
            ServiceRequest.received_at,
            Category.code,
        )
        .join(Category, ServiceRequest.category_id == Category.id)
        .where(ServiceRequest.category_confirmed.is_(True))
        .order_by(ServiceRequest.received_at, ServiceRequest.id)
    )
    if since is not None:
        stmt = stmt.where(ServiceRequest.received_at >= since)
    if not include_synthetic:
        stmt = stmt.where(ServiceRequest.synthetic.is_(False))
    rows = session.execute(stmt).all()
    first = _first_suggestions(session, [r.id for r in rows])
    out = History()
    for r in rows:
        out.docs.append((r.title or "", r.text or ""))
        out.labels.append(r.code)
        out.received.append(r.received_at)
        out.suggested.append(first.get(r.id, ""))
    return out


def _first_suggestions(session: Session, ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    chunk = 5000
    for i in range(0, len(ids), chunk):
        part = ids[i : i + chunk]
        for rid, payload in session.execute(
            select(Event.request_id, Event.payload).where(
                Event.request_id.in_(part), Event.kind == "received"
            )
        ):
            suggestions = (payload or {}).get("suggestions") or []
            if suggestions:
                out[rid] = str(suggestions[0].get("code", ""))
    return out


def _keyword_top(kw: KeywordClassifier, docs: list[Doc]) -> Top:
    return [[(s.code, s.confidence) for s in kw.suggest(f"{d[0]}\n{d[1]}", 3)] for d in docs]


def _model_top(act: registry.Active, docs: list[Doc]) -> Top:
    rows = act.model.predict_top(docs, k=3)
    return [[(act.codes.get(lab, lab), p) for lab, p in row] for row in rows]


def _brief(m: dict[str, Any]) -> dict[str, Any]:
    return {k: round(m[k], 4) if isinstance(m[k], float) else m[k]
            for k in ("n", "accuracy", "macro_f1", "top3_accuracy")}  # fmt: skip


def retrain(
    session: Session,
    *,
    data_dir: Path,
    now: datetime,
    actor: str = "",
    since: datetime | None = None,
    include_synthetic: bool = True,
    min_history: int = MIN_HISTORY,
    min_per_class: int = MIN_PER_CLASS,
    activate: str = "if-better",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train, compare, register and (per ``activate``: "if-better", "always", "never")
    activate a category classifier. Returns a JSON-ready report."""
    if activate not in ("if-better", "always", "never"):
        raise BadInput("activate", "use if-better, always or never")
    say = progress or (lambda _msg: None)
    history = confirmed_history(session, since=since, include_synthetic=include_synthetic)
    say(f"{len(history.labels)} confirmed requests")
    if len(history.labels) < min_history:
        raise BadInput(
            "history",
            f"only {len(history.labels)} requests have a confirmed category; at least"
            f" {min_history} are needed before a trained model replaces the keyword"
            " classifier (confirm categories at dispatch, or import history)",
        )
    counts = Counter(history.labels)
    keep = {c for c, n in counts.items() if n >= min_per_class}
    dropped = {c: n for c, n in counts.items() if c not in keep}
    idx = [i for i, lab in enumerate(history.labels) if lab in keep]
    if len(keep) < 2:
        raise BadInput(
            "history",
            f"only {len(keep)} category has {min_per_class}+ confirmed requests; need two",
        )
    docs = [history.docs[i] for i in idx]
    labels = [history.labels[i] for i in idx]
    cut = int(len(docs) * (1 - HOLDOUT_SHARE))
    train_docs, test_docs = docs[:cut], docs[cut:]
    train_labels, test_labels = labels[:cut], labels[cut:]
    report: dict[str, Any] = {
        "n": len(docs),
        "categories": len(keep),
        "dropped_categories": dropped,
        "holdout": {"n": len(test_docs), "from": history.received[idx[cut]].isoformat()},
    }
    live = [(history.labels[i], history.suggested[i]) for i in idx[cut:]]
    with_suggestion = [(t, s) for t, s in live if s]
    report["live_top1"] = (
        round(sum(t == s for t, s in with_suggestion) / len(with_suggestion), 4)
        if with_suggestion
        else None
    )
    if len(set(train_labels)) < 2:
        raise BadInput("history", "the older 80% of the history holds fewer than two categories")
    say(
        f"training a candidate on the older {len(train_docs)},"
        f" testing on the newest {len(test_docs)}"
    )
    candidate = TextClassifier().fit(train_docs, train_labels)
    cand = metrics(test_labels, candidate.predict_top(test_docs, k=3))
    current = registry.active(session, "category")
    if current is not None:
        base = metrics(test_labels, _model_top(current, test_docs))
        report["current"] = {"kind": "model", "version": current.version, **_brief(base)}
    else:
        base = metrics(test_labels, _keyword_top(keyword_classifier(session), test_docs))
        report["current"] = {"kind": "keywords", **_brief(base)}
    report["candidate"] = _brief(cand)
    better = cand["macro_f1"] >= base["macro_f1"] - TOLERANCE
    say("training the final model on all confirmed requests")
    final = TextClassifier()
    final.metadata.update(
        {
            "data_sha256": _fingerprint(docs, labels),
            "text_cols": ["title", "text"],
            "label_col": "category",
            "profile": profile(docs, labels),
        }
    )
    final.fit(docs, labels, progress=say)
    do_activate = activate == "always" or (activate == "if-better" and better)
    row = registry.register(
        session,
        final,
        kind="category",
        data_dir=data_dir,
        now=now,
        source="confirmed history",
        metrics={"holdout": _brief(cand), "compared_with": report["current"]},
        actor=actor,
        activate=do_activate,
    )
    report.update(version=row.version, path=row.path, activated=do_activate, better=better)
    return report


def _fingerprint(docs: list[Doc], labels: list[str]) -> str:
    h = hashlib.sha256()
    for doc, label in zip(docs, labels, strict=True):
        fields = doc if isinstance(doc, tuple) else (doc,)
        h.update("\x1f".join((*fields, label)).encode() + b"\x1e")
    return h.hexdigest()
