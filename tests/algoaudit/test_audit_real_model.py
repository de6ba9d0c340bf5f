"""The audit of a classifier trained from the shared real messages (the reference data; the
test skips, saying why, where the folder is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from historykit import NOW, seed_demo
from jiesu.algoaudit.report import run_audit
from jiesu.nlp import registry
from jiesu.nlp.dataset import load_labelled
from jiesu.nlp.model import TextClassifier
from jiesu.nlp.profile import profile

REAL = Path(os.environ.get("JIESU_SHARED", "/work/shared")) / "data" / "messages_labeled_495.csv"


@pytest.mark.skipif(not REAL.exists(), reason=f"reference data not found at {REAL}")
def test_a_model_trained_on_real_messages_is_audited_in_its_own_labels(
    session: Session, tmp_path: Path
) -> None:
    ds = load_labelled(REAL, ["留言主题", "留言详情"], "一级分类", encoding=None)
    model = TextClassifier()
    model.metadata["profile"] = profile(ds.fields, ds.labels)
    model.fit(ds.fields, ds.labels)
    seed_demo(session, 300)
    registry.register(
        session,
        model,
        kind="category",
        data_dir=tmp_path,
        now=NOW,
        source=f"imported from {REAL.name}",
        activate=True,
    )
    session.commit()
    c = run_audit(session, now=NOW)["components"]["classifier"]
    assert c["model"]["kind"] == "trained" and len(c["model"]["labels"]) == 7
    # Trained elsewhere: nothing here was in its training set.
    assert c["in_sample"] is False
    # Seven first-level classes against the demo's fifteen: many requests are outside them.
    assert c["outside_labels"]["n"] > 0
    assert c["overall"]["n"] + c["outside_labels"]["n"] > 100
    assert c["drift"]["reference"] == "the training set's profile, kept with the model"
    # Long board messages against short calls: a large shift in text length.
    assert c["drift"]["text_length"]["reading"] == "large shift"
