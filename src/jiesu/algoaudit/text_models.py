"""The audit of the models that read a request's text: the category classifier, the place
extractor and the urgency scorer.

Truth is what people recorded: a category confirmed by a person (a dispatcher dispatching on it
or correcting it), an area given by the caller or the operator (never one the extractor set),
and the urgency class the request finally had.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.algoaudit import drift
from jiesu.algoaudit.groups import Judged, summarise
from jiesu.algoaudit.labels import group_keys, labellers
from jiesu.algoaudit.records import CHUNK, Names, Row
from jiesu.nlp import registry
from jiesu.nlp.places import build_gazetteer
from jiesu.nlp.suggest import keyword_classifier
from jiesu.nlp.tables import ClassifierVersion
from jiesu.nlp.understand import scored_text
from jiesu.workflow.models import Event

# Fewer evaluation cases after training than this: the audit uses all of them and says the
# figures are in-sample.
MIN_OUT_OF_SAMPLE = 50
CURRENT_DAYS = 90
BATCH = 500


def _version_row(session: Session, kind: str) -> ClassifierVersion | None:
    return session.scalar(
        select(ClassifierVersion).where(
            ClassifierVersion.kind == kind, ClassifierVersion.active.is_(True)
        )
    )


def _at_level(path: str | None, label_paths: dict[str, str]) -> str | None:
    """The model label (a code) whose category holds ``path``; the deepest if several do."""
    if not path:
        return None
    best: tuple[int, str] | None = None
    for code, lp in label_paths.items():
        if path.startswith(lp) and (best is None or len(lp) > best[0]):
            best = (len(lp), code)
    return best[1] if best else None


def _predict(
    session: Session, rows: Sequence[Row]
) -> tuple[list[tuple[str, float] | None], dict[str, Any]]:
    act = registry.active(session, "category")
    if act is None:
        kw = keyword_classifier(session)
        out: list[tuple[str, float] | None] = []
        for r in rows:
            s = kw.suggest(f"{r.title}\n{r.text}", 1)
            out.append((s[0].code, s[0].confidence) if s else None)
        return out, {"kind": "keywords", "version": None, "labels": None}
    preds: list[tuple[str, float] | None] = []
    for i in range(0, len(rows), BATCH):
        part = rows[i : i + BATCH]
        for top in act.model.predict_top([(r.title, r.text) for r in part], k=1):
            preds.append((act.codes.get(top[0][0], top[0][0]), float(top[0][1])) if top else None)
    return preds, {
        "kind": "trained",
        "version": act.version,
        "labels": sorted(set(act.codes.values())),
    }


def _corrected(session: Session, ids: Sequence[int]) -> set[int]:
    out: set[int] = set()
    for i in range(0, len(ids), CHUNK):
        for rid, payload in session.execute(
            select(Event.request_id, Event.payload).where(
                Event.request_id.in_(ids[i : i + CHUNK]),
                Event.kind.in_(("categorize", "dispatch")),
            )
        ):
            if (payload or {}).get("corrected") is True:
                out.add(rid)
    return out


def classifier(session: Session, rows: Sequence[Row], names: Names) -> dict[str, Any]:
    truth_rows = [r for r in rows if r.confirmed and r.category_path]
    row = _version_row(session, "category")
    trained_at = row.trained_at if row is not None else None
    from_file = row is not None and row.source.startswith("imported from")
    in_sample = False
    evaluated = truth_rows
    if row is not None and not from_file and trained_at is not None:
        after = [r for r in truth_rows if r.received_at > trained_at]
        if len(after) >= MIN_OUT_OF_SAMPLE:
            evaluated = after
        else:
            in_sample = True
    preds, model = _predict(session, evaluated)
    if model["labels"]:
        label_paths = {c: names.category_paths.get(c, "") for c in model["labels"]}
    else:
        label_paths = {}
    judged = []
    outside: dict[str, int] = {}
    for r, p in zip(evaluated, preds, strict=True):
        truth = _at_level(r.category_path, label_paths) if label_paths else r.category
        if truth is None:
            # A category the model has no label for: it cannot be right, and that is a gap in
            # its labels, reported apart, not an error rate of the categories it knows.
            outside[r.top_category or "(none)"] = outside.get(r.top_category or "(none)", 0) + 1
            continue
        judged.append(Judged(p is not None and p[0] == truth, p[1] if p else None, group_keys(r)))
    out = summarise(judged, labellers(names))
    out["outside_labels"] = {
        "n": sum(outside.values()),
        "share": round(sum(outside.values()) / len(evaluated), 4) if evaluated else None,
        "by_category": [
            {"group": k, "name": names.categories.get(k, k), "n": v}
            for k, v in sorted(outside.items(), key=lambda kv: -kv[1])
        ],
    }
    auto = [r.id for r in rows if r.auto_category]
    corrected = _corrected(session, auto)
    out.update(
        model={
            **model,
            "trained_at": trained_at.isoformat() if trained_at else None,
            "source": row.source if row else "taxonomy keywords",
        },
        truth="categories confirmed by a person (dispatch or correction)",
        in_sample=in_sample,
        overrides={
            "automatic": len(auto),
            "corrected_by_people": len(corrected),
            "share": round(len(corrected) / len(auto), 4) if auto else None,
        },
        drift=_classifier_drift(session, rows, names, row, label_paths),
    )
    return out


def _classifier_drift(
    session: Session,
    rows: Sequence[Row],
    names: Names,
    row: ClassifierVersion | None,
    label_paths: dict[str, str],
) -> dict[str, Any] | None:
    if not rows:
        return None

    def label(r: Row) -> str:
        if label_paths:
            return _at_level(r.category_path, label_paths) or "(other)"
        return r.top_category or "(none)"

    newest = rows[-1].received_at
    current = [r for r in rows if r.received_at >= newest - timedelta(days=CURRENT_DAYS)]
    act = registry.active(session, "category")
    stored = act.model.metadata.get("profile") if act is not None else None
    if isinstance(stored, dict) and stored.get("labels"):
        reference = dict(stored)
        codes = act.codes if act is not None else {}
        reference["labels"] = {codes.get(k, k): v for k, v in stored["labels"].items()}
        basis = "the training set's profile, kept with the model"
    else:
        if row is not None and row.trained_at is not None:
            before = [r for r in rows if r.received_at < row.trained_at]
        else:
            before = []
        basis = "requests received before the model was trained"
        if len(before) < MIN_OUT_OF_SAMPLE:
            half = list(rows[: len(rows) // 2])
            before = [r for r in half if r.received_at < current[0].received_at] or half
            basis = "the first half of the requests read (no training period recorded)"
        reference = drift.profile(
            [f"{r.title}{r.text}" for r in before], [label(r) for r in before]
        )
        reference["labels"] = {k: v for k, v in reference["labels"].items()}
    out = drift.compare(
        reference, [f"{r.title}{r.text}" for r in current], [label(r) for r in current]
    )
    for m in out["category_mix"]["largest_moves"]:
        m["name"] = names.categories.get(m["label"], m["label"])
    return {"reference": basis, "current": f"the last {CURRENT_DAYS} days", **out}


def place(session: Session, rows: Sequence[Row], names: Names) -> dict[str, Any]:
    """The extractor on the texts of requests whose area a person gave (coordinates left out:
    they would decide the area without reading a word)."""
    gaz = build_gazetteer(session)
    evaluated = [r for r in rows if r.area and r.intake.get("area_source") == "given"]
    judged, exact = [], 0
    for r in evaluated:
        # What intake reads (title, text, address), as understand() joins them.
        full = scored_text(r.title, r.text)
        text = f"{full}\n{r.address}" if r.address else full
        res = gaz.extract(text)
        got = res.area_code
        exact += got == r.area
        got_district = names.district_of.get(got or "") if got else None
        ok = got is not None and got_district is not None and got_district == r.district
        judged.append(Judged(ok, res.confidence if got else None, group_keys(r)))
    out = summarise(judged, labellers(names))
    applied = sum(1 for r in rows if r.intake.get("area_source") == "text")
    out.update(
        truth="areas given by the caller or the operator; agreement at the district level",
        exact_area={
            "agree": exact,
            "n": len(evaluated),
            "rate": round(exact / len(evaluated), 4) if evaluated else None,
        },
        overrides={
            "automatic": applied,
            "corrected_by_people": None,
            "share": None,
            "note": "an area the extractor set is not corrected through a recorded "
            "action yet, so no override share can be counted",
        },
    )
    return out


def urgency(rows: Sequence[Row], names: Names) -> dict[str, Any]:
    """Did the urgency the intake set (the category's class, raised by signals in the text)
    stand? A person changing it at dispatch overrides the machine."""
    judged, raised, raised_kept = [], 0, 0
    for r in rows:
        assessed = (r.intake.get("assessment") or {}).get("urgency") or {}
        at_intake = r.intake.get("urgency")
        if not at_intake:
            continue
        score = assessed.get("score")
        proposed = assessed.get("urgency")
        stood = r.urgency == at_intake
        if proposed:
            raised += 1
            raised_kept += stood
        conf = min(1.0, max(0.0, float(score) / 100)) if isinstance(score, int | float) else None
        judged.append(Judged(stood, conf, group_keys(r)))
    out = summarise(judged, labellers(names))
    out.pop("calibration", None)  # a score of signals is not a probability
    changed = len(judged) - sum(j.correct for j in judged)
    out.update(
        truth="the urgency class the request finally had",
        raised_by_signals={"n": raised, "kept": raised_kept},
        overrides={
            "automatic": len(judged),
            "corrected_by_people": changed,
            "share": round(changed / len(judged), 4) if judged else None,
        },
    )
    return out


def newest(rows: Sequence[Row]) -> datetime | None:
    return rows[-1].received_at if rows else None
