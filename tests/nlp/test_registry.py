"""Trained classifiers at intake: registry, activation, corrections and retraining."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.city.models import City
from jiesu.cli import app
from jiesu.errors import BadInput
from jiesu.kit.clock import FixedClock
from jiesu.nlp import registry
from jiesu.nlp.model import TextClassifier
from jiesu.nlp.suggest import forget, suggest_categories
from jiesu.nlp.training import confirmed_history, retrain
from jiesu.nlp.understanding import Thresholds, config_to_json, default_config
from jiesu.workflow.models import Event
from jiesu.workflow.service import apply_action

from factories import make_request, make_world

# Four of the factory city's leaves, each with its own everyday vocabulary. None of these
# phrases is a keyword of the taxonomy, so only a trained model can place them.
VOCAB = {
    "010101": ["广场舞音响", "半夜装修电钻", "KTV唱歌到凌晨", "楼上跳绳咚咚响", "工地夜间打桩"],
    "010102": ["水龙头一滴水都没有", "家里断水两天", "自来水管爆裂没水用", "水压太低上不去"],
    "010103": ["厨房里闻到臭鸡蛋味", "煤气表旁边有刺鼻气味", "天然气管道嘶嘶漏气", "灶台漏气"],
    "010104": ["征收补偿款不合理", "强拆我家房子", "腾退安置房迟迟不给", "拆除违建补偿争议"],
}
FILLERS = ["请尽快处理", "已经好几天了", "希望有关部门管一管", "影响老人孩子休息", "谢谢"]


def _text(rng: random.Random, code: str) -> tuple[str, str]:
    phrase = rng.choice(VOCAB[code])
    return phrase[:8], f"{rng.choice(FILLERS)}，{phrase}，{rng.choice(FILLERS)}。"


def _history(
    session: Session, world, clock: FixedClock, per_class: int, seed: int = 3, noise: float = 0.0
) -> None:
    """Confirmed requests; a share ``noise`` of them filed under a wrong category, as real
    history always has some."""
    rng = random.Random(seed)
    for i in range(per_class):
        for code in VOCAB:
            title, text = _text(rng, rng.choice(list(VOCAB)) if rng.random() < noise else code)
            make_request(
                session,
                world,
                clock.now() - timedelta(minutes=10 * (per_class - i)),
                title=title,
                text=text,
                category=code,
            )


def test_labels_must_be_the_taxonomy(session: Session, clock: FixedClock, tmp_path: Path) -> None:
    make_world(session, clock.now())
    model = TextClassifier().fit(["噪音很大", "噪音太吵", "停水了", "没水了"], ["A", "A", "B", "B"])
    with pytest.raises(BadInput, match=r"2 of 2 labels .* not categories"):
        registry.register(
            session, model, kind="category", data_dir=tmp_path, now=clock.now(), source="t"
        )
    # Names and name paths map onto codes.
    named = TextClassifier().fit(
        ["噪音很大", "噪音太吵", "停水了", "没水了"],
        ["噪音扰民", "噪音扰民", "城乡建设/市政管理/停水", "城乡建设/市政管理/停水"],
    )
    assert registry.label_codes(session, named.labels) == {
        "噪音扰民": "010101",
        "城乡建设/市政管理/停水": "010102",
    }


def test_retrain_activates_a_model_that_beats_keywords(
    session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    world = make_world(session, clock.now())
    _history(session, world, clock, per_class=15)
    history = confirmed_history(session)
    assert len(history.labels) == 60 and set(history.labels) == set(VOCAB)
    report = retrain(session, data_dir=tmp_path, now=clock.now(), min_history=40)
    assert report["current"]["kind"] == "keywords"
    assert report["candidate"]["macro_f1"] > report["current"]["macro_f1"]
    assert report["activated"] and Path(report["path"], "model.json").is_file()
    session.commit()
    forget()
    top = suggest_categories(session, "家里断水两天了，请尽快处理", title="断水")
    assert top[0].code == "010102" and top[0].name == "停水"
    assert top[0].why == [f"model {report['version']}"]
    assert 0 < top[0].confidence <= 1


def test_retrain_refuses_thin_history(session: Session, clock: FixedClock, tmp_path: Path) -> None:
    world = make_world(session, clock.now())
    _history(session, world, clock, per_class=2)
    with pytest.raises(BadInput, match="only 8 requests have a confirmed category"):
        retrain(session, data_dir=tmp_path, now=clock.now())
    assert registry.versions(session) == []


def test_intake_applies_only_above_the_city_threshold(
    session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    world = make_world(session, clock.now())
    _history(session, world, clock, per_class=25, noise=0.15)
    retrain(session, data_dir=tmp_path, now=clock.now(), min_history=40, activate="always")
    forget()
    sure = make_request(
        session, world, clock.now(), title="", text="厨房里闻到臭鸡蛋味，灶台漏气", category=None
    )
    assert sure.category is not None and sure.category.code == "010103", sure.category_confidence
    assert not sure.category_confirmed and sure.category_confidence is not None
    city = session.query(City).one()
    stricter = replace(default_config(), thresholds=Thresholds(category=0.95))
    city.understanding = config_to_json(stricter)
    session.flush()
    forget()
    # Two complaints in one text: the model hesitates, and below the threshold a person decides.
    unsure = make_request(
        session, world, clock.now(), title="", text="广场舞音响太吵，家里断水两天", category=None
    )
    received = session.query(Event).filter_by(request_id=unsure.id, kind="received").one()
    assert unsure.category is None, received.payload["suggestions"]
    top = received.payload["suggestions"]
    assert {top[0]["code"], top[1]["code"]} == {"010101", "010102"}
    assert top[0]["confidence"] < 0.95


def test_correction_is_recorded_and_learned(
    session: Session, clock: FixedClock, tmp_path: Path
) -> None:
    world = make_world(session, clock.now())
    req = make_request(session, world, clock.now(), text="楼下燃气味道很重", category=None)
    assert req.category is not None and req.category.code == "010103"  # keyword "燃气"
    event = apply_action(
        session,
        req,
        "categorize",
        actor=world.actor("disp"),
        now=clock.now(),
        ctx=world.ctx,
        params={"category": "010101"},
    )
    assert event.payload == {
        "category": "010101",
        "previous_category": "010103",
        "corrected": True,
        "suggested_confidence": req.category_confidence,
    }
    assert req.category.code == "010101" and req.category_confirmed
    assert req.status == "received"
    history = confirmed_history(session)
    assert history.labels == ["010101"] and history.suggested == ["010103"]
    with pytest.raises(BadInput, match="category"):
        apply_action(
            session, req, "categorize", actor=world.actor("disp"), now=clock.now(),
            ctx=world.ctx, params={"category": "no-such"},
        )  # fmt: skip


def _flat(output: str) -> str:
    # The console wraps long messages at the terminal width.
    return " ".join(output.split())


def test_models_cli_lists_imports_and_activates(
    session: Session, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_world(session, clock.now())
    session.commit()
    url = str(session.get_bind().engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("JIESU_DATABASE_URL", url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    good = TextClassifier().fit(
        ["噪音很大", "噪音太吵", "停水了", "没水了"], ["010101"] * 2 + ["010102"] * 2
    )
    good.save(tmp_path / "good")
    foreign = TextClassifier().fit(["a b", "a c", "d e", "d f"], ["X", "X", "Y", "Y"])
    foreign.save(tmp_path / "foreign")
    runner = CliRunner()
    out = runner.invoke(app, ["nlp", "models", "list"])
    assert out.exit_code == 0 and "keyword classifier" in out.output
    bad = runner.invoke(app, ["nlp", "models", "import", str(tmp_path / "foreign")])
    assert bad.exit_code == 1 and "not categories of the loaded taxonomy" in _flat(bad.output)
    ok = runner.invoke(app, ["nlp", "models", "import", str(tmp_path / "good"), "--activate"])
    assert ok.exit_code == 0, ok.output
    listed = runner.invoke(app, ["nlp", "models", "list", "--json"])
    rows = json.loads(listed.output)
    assert len(rows) == 1 and rows[0]["active"] and rows[0]["labels"] == 2
    assert Path(rows[0]["path"]).is_relative_to(tmp_path / "data" / "models" / "category")
    off = runner.invoke(app, ["nlp", "models", "deactivate"])
    assert off.exit_code == 0 and "deactivated" in off.output
    thin = runner.invoke(app, ["nlp", "retrain"])
    assert thin.exit_code == 1 and "confirmed category" in _flat(thin.output)
