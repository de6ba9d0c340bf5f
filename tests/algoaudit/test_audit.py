"""The model audit on a generated history: with the taxonomy's keywords and with a classifier
trained from the history; the numbers are recounted from the records."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from historykit import NOW, seed_demo
from jiesu.algoaudit.report import latest_report, run_audit, write_report
from jiesu.city.models import HandlingUnit
from jiesu.dispatch.models import Assignment
from jiesu.nlp.training import retrain
from jiesu.workflow.models import ServiceRequest


def _engine_agreement(session: Session) -> tuple[int, int]:
    """Automatic first dispatches of replied requests, and how many went to the replying unit
    — counted straight from the tables."""
    firsts: dict[int, tuple[int, str]] = {}
    for rid, unit, source in session.execute(
        select(Assignment.request_id, Assignment.unit_id, Assignment.source).order_by(
            Assignment.request_id, Assignment.started_at, Assignment.id
        )
    ):
        firsts.setdefault(rid, (unit, source))
    n = k = 0
    for rid, lead in session.execute(
        select(ServiceRequest.id, ServiceRequest.lead_unit_id).where(
            ServiceRequest.replied_at.is_not(None),
            ServiceRequest.status.not_in(("merged", "invalid")),
        )
    ):
        first = firsts.get(rid)
        if first and first[1] in ("rule", "model", "fallback"):
            n += 1
            k += first[0] == lead
    return k, n


def test_audit_with_keywords_then_with_a_trained_classifier(
    session: Session, tmp_path: Path
) -> None:
    seed_demo(session, 500)
    report = run_audit(session, now=NOW)
    comps = report["components"]
    assert (
        report["requests_read"]
        == session.query(ServiceRequest)
        .filter(ServiceRequest.status.not_in(("merged", "invalid")))
        .count()
    )
    assert comps["classifier"]["model"]["kind"] == "keywords"
    k, n = _engine_agreement(session)
    assert comps["dispatch"]["overall"]["n"] == n > 100
    assert comps["dispatch"]["overall"]["agree"] == k
    assert comps["router"] is None
    for name in ("classifier", "place", "dispatch"):
        c = comps[name]
        assert {"category", "district", "channel", "channel_family"} <= set(c["groups"])
        assert sum(g["n"] for g in c["groups"]["district"]) == c["overall"]["n"]
        assert 0 <= c["calibration"]["ece"] <= 1
    # Demo areas are given at intake: the extractor is judged on all of them.
    assert comps["place"]["overall"]["n"] > 300
    drift = comps["classifier"]["drift"]
    assert drift["reference"].startswith("the first half")
    assert drift["category_mix"]["psi"] is not None

    json_path, html_path = write_report(report, tmp_path / "audits")
    assert json_path.name == f"model-audit-{report['date']}.json"
    assert json.loads(json_path.read_text(encoding="utf-8"))["produced_at"] == NOW.isoformat()
    html = html_path.read_text(encoding="utf-8")
    assert "算法审计报告" in html and "automatic dispatch" in html
    assert latest_report(tmp_path)["date"] == report["date"]

    # A classifier trained from the confirmed history, active: audited in its own labels, with
    # its training profile as the drift reference.
    result = retrain(
        session, data_dir=tmp_path, now=NOW, activate="always", min_history=50, min_per_class=2
    )
    session.commit()
    assert result["activated"]
    trained = run_audit(session, now=NOW)["components"]["classifier"]
    assert trained["model"]["kind"] == "trained"
    assert trained["model"]["version"] == result["version"]
    assert trained["drift"]["reference"] == "the training set's profile, kept with the model"
    # Trained on these very requests and nothing newer: the audit says the figures flatter it.
    assert trained["in_sample"] is True
    assert trained["overall"]["n"] > 0 and trained["overall"]["rate"] is not None
    assert session.scalar(select(HandlingUnit.id).limit(1)) is not None
