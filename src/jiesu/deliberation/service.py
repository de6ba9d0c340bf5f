"""A consultation's life: opened by a supervisor on a real problem, open for participation
between ``opens_at`` and ``closes_at``, then decided (text, chosen option, reasons) — and
moderated all along, every hidden item keeping its reason in public.

    upcoming ──(opens_at)──> open ──(closes_at, or ended early)──> ended ──(decision)──> decided
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.analytics.hot import hot_issues
from jiesu.analytics.models import EarlyWarning, MonthlyTopic
from jiesu.city.models import Area, Category
from jiesu.city.service import find_area, find_category
from jiesu.deliberation.background import compute_background
from jiesu.deliberation.models import (
    KINDS,
    METHODS,
    SUBJECTS,
    Consultation,
    ConsultationComment,
    ConsultationOption,
)
from jiesu.errors import BadInput, Conflict, Forbidden, NotFound
from jiesu.people.service import Actor
from jiesu.privacy.keys import active_keyring

log = structlog.get_logger(__name__)
MANAGERS = ("supervisor", "admin")
READERS = ("supervisor", "analyst", "admin")
MAX_DAYS = 90
MAX_OPTIONS = 20
MAX_QUESTIONS = 10


@dataclass
class Opening:
    """What a supervisor gives to open a consultation (checked by :func:`open_consultation`)."""

    title: str
    question: str
    kind: str = "poll"
    subject: str = "community"
    subject_ref: str = ""
    area: str | None = None
    category: str | None = None
    options: list[str] = field(default_factory=list)
    # A survey: each question with its options (at least two each).
    questions: list[tuple[str, list[str]]] = field(default_factory=list)
    methods: list[str] = field(default_factory=lambda: list(METHODS))
    opens_at: datetime | None = None
    days: int = 14


def phase(c: Consultation, now: datetime) -> str:
    if c.decided_at is not None:
        return "decided"
    if now < c.opens_at:
        return "upcoming"
    if now < c.closes_at:
        return "open"
    return "ended"


def _need(actor: Actor, roles: tuple[str, ...]) -> None:
    if actor.role not in roles:
        raise Forbidden(f"this needs one of the roles {', '.join(roles)}; you are {actor.role}")


def in_actor_area(actor: Actor, area: Area) -> None:
    if actor.area_path is not None and not area.path.startswith(actor.area_path):
        raise Forbidden(
            f"{area.name} is outside your area",
            fields=[{"field": "area", "problem": "outside your area"}],
        )


def _subject(
    session: Session, o: Opening, now: datetime
) -> tuple[Area | None, Category | None, list[str] | None, dict[str, Any]]:
    """The place, category, sample tickets and evidence a subject brings with it."""
    if o.subject == "community":
        return None, None, None, {}
    ref = o.subject_ref.strip()
    if not ref:
        raise BadInput("subject_ref", f"name the {o.subject.replace('_', ' ')} this is about")
    if o.subject == "monthly_topic":
        topic = session.get(MonthlyTopic, int(ref)) if ref.isdigit() else None
        if topic is None:
            raise BadInput("subject_ref", f"no adopted monthly topic {ref!r}")
        ev = {"topic": topic.title, "month": topic.month, "score": topic.score}
        return topic.area, topic.category, None, ev
    if o.subject == "early_warning":
        w = session.get(EarlyWarning, int(ref)) if ref.isdigit() else None
        if w is None:
            raise BadInput("subject_ref", f"no early warning {ref!r}")
        ev = {"warning": w.reason_zh, "observed": w.observed, "expected": w.expected}
        return w.area, w.category, None, ev
    # A hot issue is computed, not stored: it is named by one of its requests' tickets.
    for g in hot_issues(session, end=now, top=50)["groups"]:
        if ref in [str(i) for i in g["ids"]]:
            ev = {"hot_issue": g["title"], "place": g["place"], "size": g["size"]}
            return None, None, [str(i) for i in g["ids"]], ev
    raise BadInput("subject_ref", f"{ref!r} is not a ticket of this week's hot issues")


def _check_options(options: list[str], field: str, kind: str) -> list[str]:
    options = [x.strip() for x in options if x.strip()]
    if kind != "proposals" and len(options) < 2:
        raise BadInput(field, f"a {kind} needs at least two options; {len(options)} given")
    if len(options) > MAX_OPTIONS or len(set(options)) != len(options):
        raise BadInput(field, f"at most {MAX_OPTIONS} options, each different")
    if any(len(x) > 200 for x in options):
        raise BadInput(field, "an option is at most 200 characters")
    return options


def _check_questions(o: Opening) -> list[tuple[str, list[str]]]:
    """A survey's questions, each with at least two options; a poll's or proposals' none."""
    if o.kind != "survey":
        if o.questions:
            raise BadInput("questions", "only a survey has several questions")
        return []
    if not 1 <= len(o.questions) <= MAX_QUESTIONS:
        raise BadInput("questions", f"a survey asks 1 to {MAX_QUESTIONS} questions")
    out = []
    for i, (text, options) in enumerate(o.questions, start=1):
        if not text.strip() or len(text.strip()) > 500:
            raise BadInput(f"questions.{i}", "write the question (at most 500 characters)")
        out.append((text.strip(), _check_options(options, f"questions.{i}.options", "question")))
    return out


def _check(o: Opening) -> tuple[str, str, list[tuple[int, str]], list[str]]:
    title, question = o.title.strip(), o.question.strip()
    if not title:
        raise BadInput("title", "give the consultation a title")
    if not question:
        raise BadInput("question", "say what people are asked")
    if o.kind not in KINDS:
        raise BadInput("kind", f"{o.kind!r} is not a kind; use {' or '.join(KINDS)}")
    if o.subject not in SUBJECTS:
        raise BadInput("subject", f"{o.subject!r} is not a subject; use {', '.join(SUBJECTS)}")
    questions = _check_questions(o)
    if o.kind == "survey":
        if any(x.strip() for x in o.options):
            raise BadInput("options", "a survey's options belong to its questions")
        options = [(i, label) for i, (_, labels) in enumerate(questions) for label in labels]
    else:
        options = [(0, label) for label in _check_options(o.options, "options", o.kind)]
    if not o.methods or any(m not in METHODS for m in o.methods):
        raise BadInput("methods", f"choose among {', '.join(METHODS)}")
    if not 1 <= o.days <= MAX_DAYS:
        raise BadInput("days", f"a consultation runs 1 to {MAX_DAYS} days")
    return title, question, options, [q for q, _ in questions]


def open_consultation(session: Session, o: Opening, *, actor: Actor, now: datetime) -> Consultation:
    _need(actor, MANAGERS)
    title, question, options, questions = _check(o)
    area, category, tickets, evidence = _subject(session, o, now)
    if o.area:
        area = find_area(session, o.area)
    if o.category:
        category = find_category(session, o.category)
    if area is None:
        if actor.area_path is not None:
            raise BadInput("area", "name the area (your account is kept to one)")
        area = session.scalars(select(Area).where(Area.parent_id.is_(None))).first()
        if area is None:
            raise BadInput("area", "the city has no areas yet; load a city pack")
    in_actor_area(actor, area)
    opens = o.opens_at or now
    if opens < now - timedelta(minutes=5):
        raise BadInput("opens_at", "a consultation cannot open in the past")
    background = compute_background(
        session, area=area, category=category, now=now, tickets=tickets, evidence=evidence
    )
    c = Consultation(
        title=title,
        question=question,
        kind=o.kind,
        subject=o.subject,
        subject_ref=o.subject_ref.strip(),
        area=area,
        category=category,
        methods=list(dict.fromkeys(o.methods)),
        questions=questions,
        key_id=active_keyring().newest.kid,
        background=background,
        opens_at=opens,
        closes_at=opens + timedelta(days=o.days),
        created_at=now,
        created_by=actor.name,
        options=[
            ConsultationOption(question=q, label=label, created_at=now) for q, label in options
        ],
    )
    session.add(c)
    session.flush()
    log.info("deliberation.opened", consultation=c.id, kind=c.kind, area=area.code)
    return c


def get_consultation(session: Session, cid: int) -> Consultation:
    c = session.get(Consultation, cid)
    if c is None:
        raise NotFound(f"no consultation {cid}")
    return c


def managed(session: Session, cid: int, actor: Actor) -> Consultation:
    """A consultation the actor may manage (a district supervisor: only in their area)."""
    _need(actor, MANAGERS)
    c = get_consultation(session, cid)
    in_actor_area(actor, c.area)
    return c


def list_consultations(
    session: Session, *, area_path: str | None = None, limit: int = 100
) -> list[Consultation]:
    q = select(Consultation).order_by(Consultation.opens_at.desc(), Consultation.id.desc())
    if area_path is not None:
        q = q.join(Area, Area.id == Consultation.area_id).where(
            Area.path.startswith(area_path, autoescape=True)
        )
    return list(session.scalars(q.limit(limit)))


def end_voting(session: Session, c: Consultation, *, actor: Actor, now: datetime) -> Consultation:
    """Stop taking part now (before the planned end), so that a decision can be taken."""
    if phase(c, now) != "open":
        raise Conflict(
            f"consultation {c.id} is {phase(c, now)}, not open",
            fields=[{"field": "status", "problem": f"is {phase(c, now)}"}],
        )
    c.closes_at = now
    log.info("deliberation.ended", consultation=c.id, by=actor.name)
    return c


def decide(
    session: Session,
    c: Consultation,
    *,
    actor: Actor,
    now: datetime,
    decision: str,
    reasons: str,
    option_id: int | None,
) -> Consultation:
    """The closing decision. Refused while people can still take part: a decision taken
    before the end would make the last votes meaningless."""
    p = phase(c, now)
    if p != "ended":
        problem = "is already decided" if p == "decided" else f"is still {p}; end it first"
        raise Conflict(
            f"consultation {c.id} {problem}", fields=[{"field": "status", "problem": problem}]
        )
    if not decision.strip():
        raise BadInput("decision", "write what was decided")
    if not reasons.strip():
        raise BadInput("reasons", "say why — people read this with the results")
    visible = {o.id for o in c.options if o.hidden_at is None}
    if option_id is not None and option_id not in visible:
        raise BadInput("option", f"{option_id} is not a visible option of this consultation")
    if option_id is None and c.kind == "poll":
        raise BadInput("option", "a poll's decision names the option chosen")
    c.decision, c.decision_reasons, c.decision_option_id = (
        decision.strip(),
        reasons.strip(),
        option_id,
    )
    c.decided_at, c.decided_by = now, actor.name
    log.info("deliberation.decided", consultation=c.id, option=option_id, by=actor.name)
    return c


def hide(
    session: Session,
    c: Consultation,
    *,
    target: str,
    target_id: int,
    reason: str,
    actor: Actor,
    now: datetime,
) -> None:
    """Hide a comment or a proposal; the reason is shown publicly in its place."""
    if not reason.strip():
        raise BadInput("reason", "say why it is hidden: the reason is shown in its place")
    item: ConsultationComment | ConsultationOption | None
    if target == "comment":
        item = session.get(ConsultationComment, target_id)
    elif target == "option":
        item = session.get(ConsultationOption, target_id)
        if item is not None and item.author_key is None:
            raise BadInput("target", "only participants' proposals are moderated, not options")
    else:
        raise BadInput("target", "must be comment or option")
    if item is None or item.consultation_id != c.id:
        raise NotFound(f"no {target} {target_id} in consultation {c.id}")
    if item.hidden_at is not None:
        raise Conflict(f"{target} {target_id} is already hidden")
    item.hidden_reason, item.hidden_by, item.hidden_at = reason.strip()[:500], actor.name, now
    log.info("deliberation.hidden", consultation=c.id, target=target, id=target_id)
