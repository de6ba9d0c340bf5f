"""Training a model from the admin desk: the job runs in the background with its progress on
the page, a refusal (too little history) is shown as the job's outcome, a second start while
one runs is refused, and a model in use can be switched off."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from jiesu.kit.clock import FixedClock
from jiesu.nlp import registry
from jiesu.nlp.model import TextClassifier

from factories import World, make_request


def _wait(admin, kind: str) -> str:  # type: ignore[no-untyped-def]
    for _ in range(200):
        page = admin.client.get("/desk/admin/models").text
        if f'data-kind="{kind}" data-state="running"' not in page:
            return page
        time.sleep(0.05)
    raise AssertionError("the training job did not finish")


def test_training_too_little_history_is_the_jobs_outcome(
    browser, web_world: World, session: Session, clock: FixedClock
) -> None:
    for _ in range(3):
        make_request(session, web_world, clock.now())
    session.commit()
    admin = browser("admin")
    r = admin.post_form(
        "/desk/admin/models/train",
        {"kind": "category", "activate": "if-better"},
        page="/desk/admin/models",
    )
    assert r.status_code == 303
    page = _wait(admin, "category")
    assert 'data-kind="category" data-state="failed"' in page
    assert "confirmed" in page  # the service's reason: too few confirmed requests
    bad = admin.post_form(
        "/desk/admin/models/train", {"kind": "nonsense"}, page="/desk/admin/models"
    )
    assert bad.status_code == 422 and "must be one of" in bad.text
    assert browser("sup").client.post("/desk/admin/models/train", data={}).status_code in (
        403,
        422,
    )


def test_a_model_in_use_is_switched_off(
    browser, web_world: World, session: Session, clock: FixedClock, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    model = TextClassifier()
    docs = ["噪音很大", "夜里施工噪音", "停水了", "小区停水"] * 5
    model.fit(docs, ["010101", "010101", "010102", "010102"] * 5)
    registry.register(
        session, model, kind="category", data_dir=tmp_path, now=clock.now(), source="test",
        metrics={}, actor="admin", activate=True,
    )  # fmt: skip
    session.commit()
    admin = browser("admin")
    page = admin.client.get("/desk/admin/models").text
    assert 'action="/desk/admin/models/deactivate"' in page
    r = admin.post_form(
        "/desk/admin/models/deactivate", {"kind": "category"}, page="/desk/admin/models"
    )
    assert r.status_code == 303 and "done=off-category" in r.headers["location"]
    session.expire_all()
    assert not [v for v in registry.versions(session, "category") if v.active]
