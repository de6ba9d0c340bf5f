"""Two consultations for the demo city, from its own (synthetic) requests: one running poll
in the busiest district on its most common problem, with votes of callers from there, and one
decided a fortnight ago whose decision is carried out by work orders in the loop."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiesu.city.models import Area, Category
from jiesu.deliberation import followup, service, voting
from jiesu.deliberation.models import Consultation
from jiesu.deliberation.participants import by_known_phone
from jiesu.people.models import User
from jiesu.people.service import Actor
from jiesu.workflow.models import Contact, ServiceRequest

R = ServiceRequest


def _busiest(session: Session, since: datetime) -> tuple[Area, Category] | None:
    """The district with the most requests since ``since``, and its commonest category at
    the taxonomy's second level."""
    rows = session.execute(
        select(Area, Category)
        .join(R, R.area_id == Area.id)
        .join(Category, Category.id == R.category_id)
        .where(R.received_at >= since)
    ).all()
    counts: dict[tuple[str, str], int] = {}
    for area, cat in rows:
        district = area.path.strip("/").split("/")[1:2]
        group = cat.path.strip("/").split("/")[:2]
        if not district or len(group) < 2:
            continue
        counts[(district[0], group[1])] = counts.get((district[0], group[1]), 0) + 1
    if not counts:
        return None
    d, c = max(counts, key=lambda k: counts[k])
    district_area = session.scalar(select(Area).where(Area.code == d))
    group = session.scalar(select(Category).where(Category.code == c))
    return (district_area, group) if district_area and group else None


def _callers(session: Session, c: Consultation, n: int) -> list[str]:
    """Phones (synthetic) that called about the consultation's area, one each."""
    within = select(Area.id).where(Area.path.startswith(c.area.path, autoescape=True))
    q = (
        select(Contact.phone_hash, Contact.phone)
        .join(R, R.id == Contact.request_id)
        .where(R.area_id.in_(within), Contact.phone_hash.is_not(None), R.synthetic.is_(True))
        .order_by(Contact.id)
        .limit(n * 3)
    )
    phones = dict(session.execute(q).tuples().all())
    return list(phones.values())[:n]


def _votes(
    session: Session, c: Consultation, rng: random.Random, at: datetime, n: int, secret: str
) -> int:
    weights = [5, 3, 2, 1][: len(c.options)]
    cast = 0
    for phone in _callers(session, c, n):
        p = by_known_phone(c, phone, secret)
        option = rng.choices(c.options, weights=weights)[0]
        voting.vote(session, c, p, option_id=option.id, now=at)
        cast += 1
    return cast


def seed_consultations(
    session: Session, *, now: datetime, secret: str, seed: int = 7
) -> list[Consultation]:
    """Nothing when a consultation exists already (the demo runs again on its own data)."""
    if session.scalar(select(func.count(Consultation.id))):
        return []
    user = session.scalar(select(User).where(User.role == "supervisor"))
    found = _busiest(session, now - timedelta(days=90))
    if user is None or found is None:
        return []
    sup, (district, cat), rng = Actor.of(user), found, random.Random(seed)
    then = now - timedelta(days=30)
    decided = service.open_consultation(
        session,
        service.Opening(
            title=f"{district.name}{cat.name}问题：先从哪里改起？",
            question=f"近三个月{district.name}{cat.name}类诉求较多。您认为最该先做的是哪一项？",
            area=district.code,
            category=cat.code,
            options=["加强日常巡查", "设立专门受理窗口", "公开整改进度"],
            days=14,
        ),
        actor=sup,
        now=then,
    )
    _votes(session, decided, rng, then + timedelta(days=2), 18, secret)
    closed_at = then + timedelta(days=14)
    counted = voting.results(session, decided)["options"]
    top = max(counted, key=lambda o: o["votes"])
    service.decide(session, decided, actor=sup, now=closed_at + timedelta(hours=2),
                   decision=f"采纳“{top['label']}”，由街道牵头落实，每月公开进度。",
                   reasons=f"{top['votes']} 票居首；与近三个月诉求集中的问题一致。",
                   option_id=top["option_id"])  # fmt: skip
    task = f"{district.name}{cat.name}：{top['label']}，每月向居民公开进度。"
    followup.create_work_order(
        session, decided, text=task, actor=sup, now=closed_at + timedelta(hours=3), synthetic=True
    )
    within = select(Area.id).where(Area.path.startswith(district.path, autoescape=True))
    cats = select(Category.id).where(Category.path.startswith(cat.path, autoescape=True))
    for req in session.scalars(
        select(R).where(R.area_id.in_(within), R.category_id.in_(cats), R.received_at >= then,
               R.channel != "proactive")
        .order_by(R.received_at).limit(2)
    ):  # fmt: skip
        followup.link_request(session, decided, ticket=req.ticket, actor=sup, now=closed_at)
    running = service.open_consultation(
        session,
        service.Opening(
            title=f"{district.name}{cat.name}：下一步听您的",
            question=f"上次议事后的整改已在进行。{cat.name}方面，您最希望下一步做什么？",
            area=district.code,
            category=cat.code,
            options=["延长服务时间", "增加现场检查", "设立居民监督员", "维持现状"],
            days=14,
        ),
        actor=sup,
        now=now,
    )
    _votes(session, running, rng, now, 7, secret)
    return [decided, running]
