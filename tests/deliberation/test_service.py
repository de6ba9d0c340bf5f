"""Deliberation's rules, on SQLite and PostgreSQL: opening with computed background, the
phases, verification and scope, one vote each, the decision and its work orders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from deliberationkit import INSIDE, OUTSIDE, SECRET, code_from_outbox, open_one, opening
from jiesu.deliberation import followup, participants, service, voting
from jiesu.deliberation.models import ConsultationVote, VerificationCode
from jiesu.deliberation.sender import OutboxSender
from jiesu.errors import BadInput, Conflict, Forbidden, UnknownReference
from jiesu.kit.clock import FixedClock
from jiesu.workflow.public import track_code
from jiesu.workflow.service import apply_action

from factories import World, make_request


def by_phone(session: Session, c: service.Consultation, phone: str, clock: FixedClock) -> object:
    now = clock.now()
    participants.send_code(session, c, phone=phone, sender=OutboxSender(), secret=SECRET, now=now)
    code = code_from_outbox(session)
    return participants.confirm_code(session, c, phone=phone, code=code, secret=SECRET, now=now)


def test_background_is_computed_from_the_requests(
    session: Session, world: World, clock: FixedClock
) -> None:
    for _ in range(3):
        make_request(
            session, world, clock.now() - timedelta(days=3), text="工地夜里施工，电话13812345678"
        )
    c = service.get_consultation(session, open_one(session, world, clock))
    bg = c.background
    # 1 planted caller 20 days ago + 3 this week, all noise in 东华门 (东城区); 西城's is outside.
    assert bg["requests"] == 4 and sum(bg["per_week"]) == 4 and bg["per_week"][-1] == 3
    assert bg["area"]["code"] == "110101" and bg["category"]["code"] == "0101"
    assert set(bg["rates"]) >= {"response", "resolution", "satisfaction", "counts"}
    assert all("13812345678" not in s["text"] for s in bg["samples"])
    assert any("138****5678" in s["text"] for s in bg["samples"])


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"options": []}, "options"),
        ({"options": ["只有一个"]}, "options"),
        ({"options": ["甲", "甲"]}, "options"),
        ({"title": " "}, "title"),
        ({"kind": "referendum"}, "kind"),
        ({"days": 0}, "days"),
        ({"methods": ["email"]}, "methods"),
        ({"subject": "monthly_topic", "subject_ref": "999"}, "subject_ref"),
        ({"subject": "early_warning", "subject_ref": ""}, "subject_ref"),
    ],
)
def test_bad_openings_name_the_field(
    session: Session, world: World, clock: FixedClock, kw: dict[str, object], field: str
) -> None:
    with pytest.raises(BadInput) as err:
        service.open_consultation(session, opening(**kw), actor=world.actor("sup"), now=clock.now())
    assert err.value.fields[0]["field"] == field


def test_an_unknown_area_is_refused_by_name(
    session: Session, world: World, clock: FixedClock
) -> None:
    with pytest.raises(UnknownReference) as err:
        service.open_consultation(
            session, opening(area="999999"), actor=world.actor("sup"), now=clock.now()
        )
    assert err.value.fields[0]["field"] == "area"


def test_only_managers_open(session: Session, world: World, clock: FixedClock) -> None:
    with pytest.raises(Forbidden):
        service.open_consultation(session, opening(), actor=world.actor("analyst"), now=clock.now())


def test_one_vote_each_in_scope_and_in_time(
    session: Session, world: World, clock: FixedClock
) -> None:
    c = service.get_consultation(session, open_one(session, world, clock, days=7))
    p = by_phone(session, c, INSIDE, clock)
    assert isinstance(p, participants.Participant)
    first, second = c.options[0].id, c.options[1].id
    voting.vote(session, c, p, option_id=first, now=clock.now())
    with pytest.raises(Conflict) as err:
        voting.vote(session, c, p, option_id=second, now=clock.now())
    assert err.value.fields[0]["field"] == "pass"
    # The same caller again through the ticket of their request: the same person.
    req = session.scalars(
        select(participants.ServiceRequest).order_by(participants.ServiceRequest.id)
    ).first()
    assert req is not None
    again = participants.by_ticket(
        session, c, ticket=req.ticket, code=track_code(req.ticket, SECRET), secret=SECRET
    )
    assert again.key == p.key and voting.has_voted(session, c, again)
    # 西城's caller is out of 东城's scope, told only once the code came back.
    with pytest.raises(Forbidden) as out:
        by_phone(session, c, OUTSIDE, clock)
    assert out.value.fields[0]["field"] == "phone"
    r = voting.results(session, c)
    assert r["votes"] == 1 and [o["votes"] for o in r["options"]] == [1, 0, 0]
    assert r["options"][0]["share"] == 1.0
    # After the end nobody votes; a wrong code is a problem returned, not a vote.
    clock.set(clock.now() + timedelta(days=8))
    with pytest.raises(Conflict) as late:
        voting.vote(session, c, p, option_id=second, now=clock.now())
    assert late.value.fields[0] == {"field": "status", "problem": "is closed"}


def test_no_vote_before_opening(session: Session, world: World, clock: FixedClock) -> None:
    cid = open_one(session, world, clock, opens_at=clock.now() + timedelta(days=2))
    c = service.get_consultation(session, cid)
    p = by_phone(session, c, INSIDE, clock)
    assert isinstance(p, participants.Participant)
    with pytest.raises(Conflict) as err:
        voting.vote(session, c, p, option_id=c.options[0].id, now=clock.now())
    assert err.value.fields[0]["field"] == "status" and "opens at" in err.value.fields[0]["problem"]


def test_codes_are_hashed_and_wrong_codes_counted(
    session: Session, world: World, clock: FixedClock
) -> None:
    c = service.get_consultation(session, open_one(session, world, clock))
    participants.send_code(
        session, c, phone=INSIDE, sender=OutboxSender(), secret=SECRET, now=clock.now()
    )
    code = code_from_outbox(session)
    row = session.scalars(select(VerificationCode)).one()
    assert code not in row.code_hash and INSIDE not in row.participant_key
    wrong = "000000" if code != "000000" else "111111"
    problem = participants.confirm_code(
        session, c, phone=INSIDE, code=wrong, secret=SECRET, now=clock.now()
    )
    assert isinstance(problem, str) and "wrong code" in problem and row.attempts == 1
    # The stored participant key is not the contact's blind index of the phone.
    p = participants.confirm_code(
        session, c, phone=INSIDE, code=code, secret=SECRET, now=clock.now()
    )
    assert isinstance(p, participants.Participant)
    assert p.key not in participants.phone_hashes(INSIDE)
    used = participants.confirm_code(
        session, c, phone=INSIDE, code=code, secret=SECRET, now=clock.now()
    )
    assert isinstance(used, str) and "expired or was used" in used


def test_a_pass_is_signed_and_for_one_consultation(
    session: Session, world: World, clock: FixedClock
) -> None:
    a = open_one(session, world, clock)
    p = participants.Participant(a, "k" * 64, "phone")
    token = participants.issue_pass(p, secret=SECRET, now=clock.now())
    back = participants.read_pass(token, consultation_id=a, secret=SECRET, now=clock.now())
    assert (back.key, back.method) == (p.key, p.method) and back.author_key not in ("", p.key)
    for bad, cid in ((token[:-2] + "xx", a), (token, a + 1)):
        with pytest.raises(BadInput) as err:
            participants.read_pass(bad, consultation_id=cid, secret=SECRET, now=clock.now())
        assert err.value.fields[0]["field"] == "pass"
    with pytest.raises(BadInput):
        later = clock.now() + participants.PASS_TTL
        participants.read_pass(token, consultation_id=a, secret=SECRET, now=later)


def test_decision_then_tracked_work_orders(
    session: Session, world: World, clock: FixedClock
) -> None:
    c = service.get_consultation(session, open_one(session, world, clock))
    sup = world.actor("sup")
    with pytest.raises(Conflict) as early:
        service.decide(
            session,
            c,
            actor=sup,
            now=clock.now(),
            decision="限时",
            reasons="多数",
            option_id=c.options[0].id,
        )
    assert early.value.fields[0]["field"] == "status"
    with pytest.raises(Conflict):
        followup.create_work_order(session, c, text="排查", actor=sup, now=clock.now())
    service.end_voting(session, c, actor=sup, now=clock.now())
    with pytest.raises(BadInput) as no_option:
        service.decide(
            session, c, actor=sup, now=clock.now(), decision="限时", reasons="多数", option_id=None
        )
    assert no_option.value.fields[0]["field"] == "option"
    service.decide(
        session,
        c,
        actor=sup,
        now=clock.now(),
        decision="22点后禁止施工",
        reasons="多数支持",
        option_id=c.options[0].id,
    )
    wo = followup.create_work_order(
        session, c, text="对辖区工地开展夜间巡查", actor=sup, now=clock.now()
    )
    assert wo.request.channel == "proactive" and wo.created
    old = make_request(session, world, clock.now())
    followup.link_request(session, c, ticket=old.ticket, actor=sup, now=clock.now())
    with pytest.raises(Conflict):
        followup.link_request(session, c, ticket=old.ticket, actor=sup, now=clock.now())
    prog = followup.progress(session, c)
    assert prog["stages"]["planned"] == 2
    # Progress follows the request's real status: dispatched and accepted → in progress.
    apply_action(session, wo.request, "dispatch", actor=world.actor("disp"), now=clock.now(),
                 ctx=world.ctx, params={"unit": "ST-110101001"})  # fmt: skip
    apply_action(
        session, wo.request, "accept", actor=world.actor("h1"), now=clock.now(), ctx=world.ctx
    )
    prog = followup.progress(session, c)
    assert prog["stages"] == {"planned": 1, "in_progress": 1, "done": 0, "withdrawn": 0}
    assert prog["work_orders"][1]["title"] is None  # a caller's request shows no text in public


def test_moderation_keeps_the_reason(session: Session, world: World, clock: FixedClock) -> None:
    c = service.get_consultation(
        session, open_one(session, world, clock, kind="proposals", options=[])
    )
    p = by_phone(session, c, INSIDE, clock)
    assert isinstance(p, participants.Participant)
    o = voting.propose(session, c, p, label="加装隔音屏", body="在工地边", now=clock.now())
    m = voting.comment(
        session, c, p, body="我家电话 13812345678 欢迎联系", option_id=o.id, now=clock.now()
    )
    assert "13812345678" not in m.body
    with pytest.raises(BadInput) as err:
        service.hide(
            session,
            c,
            target="comment",
            target_id=m.id,
            reason=" ",
            actor=world.actor("sup"),
            now=clock.now(),
        )
    assert err.value.fields[0]["field"] == "reason"
    service.hide(
        session,
        c,
        target="comment",
        target_id=m.id,
        reason="含个人信息",
        actor=world.actor("sup"),
        now=clock.now(),
    )
    assert m.hidden_reason == "含个人信息"
    voting.vote(session, c, p, option_id=o.id, now=clock.now())
    assert voting.results(session, c)["votes"] == 1


def test_the_unique_constraint_refuses_a_second_vote_row(
    session: Session, world: World, clock: FixedClock, db_engine: object
) -> None:
    """Two requests racing past the service's check both insert: the database keeps one."""
    from sqlalchemy.exc import IntegrityError

    c = service.get_consultation(session, open_one(session, world, clock))
    row = dict(
        consultation_id=c.id,
        option_id=c.options[0].id,
        participant_key="p" * 64,
        method="phone",
        cast_at=clock.now(),
    )
    session.add(ConsultationVote(**row))
    session.commit()
    with Session(db_engine) as other:  # type: ignore[call-overload]
        other.add(ConsultationVote(**{**row, "option_id": c.options[1].id}))
        with pytest.raises(IntegrityError):
            other.commit()
    assert voting.results(session, c)["votes"] == 1


def test_subjects_bring_their_place_category_and_evidence(
    session: Session, world: World, clock: FixedClock
) -> None:
    from jiesu.analytics.models import EarlyWarning, MonthlyTopic
    from jiesu.city.service import find_area, find_category

    now = clock.now()
    area, cat = find_area(session, "110101001"), find_category(session, "0101")
    topic = MonthlyTopic(month="2026-10", category=cat, area=area, title="市政管理", score=0.8,
                         evidence={}, adopted_at=now, adopted_by="sup")  # fmt: skip
    warning = EarlyWarning(key="k", kind="surge_week", category=cat, area=area,
                           first_day=now.date(), last_day=now.date(), observed=9, expected=2.0,
                           reason_zh="近7天 9 件", reason_en="9 in 7 days", details={},
                           created_at=now)  # fmt: skip
    session.add_all([topic, warning])
    session.flush()
    sup = world.actor("sup")
    for subject, ref, key in (
        ("monthly_topic", topic.id, "topic"),
        ("early_warning", warning.id, "warning"),
    ):
        c = service.open_consultation(
            session, opening(subject=subject, subject_ref=str(ref), area=None, category=None),
            actor=sup, now=now,
        )  # fmt: skip
        assert c.area.code == "110101001" and c.category is not None and c.category.code == "0101"
        assert key in c.background["evidence"]
    # A hot issue is named by one of its tickets; its requests are the samples.
    phones = [f"1370000{i:04d}" for i in range(6)]
    for i, phone in enumerate(phones):
        make_request(session, world, now - timedelta(hours=2 + i), contact={"phone": phone},
                     text="东华门大街12号工地夜里施工噪音很大，影响休息")  # fmt: skip
    from jiesu.analytics.hot import hot_issues

    groups = hot_issues(session, end=now)["groups"]
    assert groups, "the planted requests form a hot issue"
    ticket = str(groups[0]["ids"][0])
    c = service.open_consultation(
        session, opening(subject="hot_issue", subject_ref=ticket, area="110101001"), actor=sup,
        now=now,
    )  # fmt: skip
    assert c.background["evidence"]["size"] == groups[0]["size"]
    assert all("工地" in s["text"] for s in c.background["samples"])
    with pytest.raises(BadInput) as err:
        service.open_consultation(session, opening(subject="hot_issue", subject_ref="nope"),
                                  actor=sup, now=now)  # fmt: skip
    assert err.value.fields[0]["field"] == "subject_ref"


def test_a_district_supervisor_opens_only_in_the_district(
    session: Session, world: World, clock: FixedClock
) -> None:
    from jiesu.city.service import find_area
    from jiesu.people.service import Actor

    sup = world.users["sup"]
    sup.area = find_area(session, "110102")
    session.flush()
    with pytest.raises(Forbidden) as err:
        service.open_consultation(session, opening(), actor=Actor.of(sup), now=clock.now())
    assert err.value.fields[0]["field"] == "area"


SURVEY = [
    ("施工该在几点前停止？", ["20点", "22点"]),
    ("要不要设噪音监测点？", ["要", "不要", "无所谓"]),
]


def test_a_short_survey_takes_one_ballot_each(
    session: Session, world: World, clock: FixedClock
) -> None:
    for questions, field in (
        ([], "questions"),
        ([("只有一个选项？", ["是"])], "questions.1.options"),
        ([(" ", ["甲", "乙"])], "questions.1"),
    ):
        with pytest.raises(BadInput) as err:
            o = opening(kind="survey", options=[], questions=questions)
            service.open_consultation(session, o, actor=world.actor("sup"), now=clock.now())
        assert err.value.fields[0]["field"] == field
    with pytest.raises(BadInput) as mixed:
        service.open_consultation(session, opening(kind="survey", questions=SURVEY),
                                  actor=world.actor("sup"), now=clock.now())  # fmt: skip
    assert mixed.value.fields[0]["field"] == "options"
    cid = open_one(session, world, clock, kind="survey", options=[], questions=SURVEY)
    c = service.get_consultation(session, cid)
    assert c.questions == [q for q, _ in SURVEY] and [o.question for o in c.options] == [
        0,
        0,
        1,
        1,
        1,
    ]
    p = by_phone(session, c, INSIDE, clock)
    assert isinstance(p, participants.Participant)
    first, second = c.options[1].id, c.options[2].id
    with pytest.raises(BadInput) as partial:
        voting.answer(session, c, p, option_ids=[first], now=clock.now())
    assert partial.value.fields[0] == {"field": "answers", "problem": "answer question(s) 2"}
    with pytest.raises(BadInput):
        voting.answer(session, c, p, option_ids=[first, c.options[0].id, second], now=clock.now())
    with pytest.raises(BadInput) as poll_way:
        voting.vote(session, c, p, option_id=first, now=clock.now())
    assert poll_way.value.fields[0]["field"] == "answers"
    voting.answer(session, c, p, option_ids=[first, second], now=clock.now())
    with pytest.raises(Conflict):
        voting.answer(session, c, p, option_ids=[first, second], now=clock.now())
    r = voting.results(session, c)
    assert r["votes"] == 1 and r["by_method"] == {"phone": 1}
    assert [(o["question"], o["votes"]) for o in r["options"]] == [
        (0, 0),
        (0, 1),
        (1, 1),
        (1, 0),
        (1, 0),
    ]
