"""Synthetic history for the demo city: requests that live their whole life through the real
services (submit_request, apply_action) on a simulated clock, so every timeline, deadline and
hash in the demo is produced by the same code that serves a real city."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from jiesu.city.models import Area, Category, HandlingUnit
from jiesu.city.service import CityContext
from jiesu.demo import texts
from jiesu.intake.schemas import ContactIn, RequestIn
from jiesu.intake.service import submit_request
from jiesu.people.models import User
from jiesu.people.service import Actor
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action

CHANNEL_MIX = (("phone", 0.85), ("app", 0.06), ("web", 0.05), ("wechat", 0.04))
# Calls follow the city's day: few at night, peaks mid-morning and early evening.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 10, 8, 9, 10, 10, 9, 8, 8, 8, 7, 5, 3, 2)


@dataclass
class SeedStats:
    requests: int = 0
    events: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class CityIndex:
    """The demo city, pre-indexed so that picking a unit for a case costs no query."""

    leaves: list[Category]
    leaf_weights: list[float]
    places: list[tuple[Area, texts.PlaceRef]]
    specialists: dict[int, list[HandlingUnit]]  # category id → non-street units covering it
    street_office: dict[int, HandlingUnit]  # street area id → its office
    district_government: dict[int, HandlingUnit]  # district area id → its government
    district_of: dict[int, int]  # area id → district area id
    refs: dict[int, texts.CategoryRef]


def index_city(session: Session, rng: random.Random) -> CityIndex:
    cats = session.scalars(
        select(Category).where(Category.active.is_(True)).options(selectinload(Category.parent))
    ).all()
    by_id = {c.id: c for c in cats}
    leaves = [c for c in cats if c.level == 3]
    order = list(range(len(leaves)))
    rng.shuffle(order)
    # A few categories carry most of the load (Zipf-like), as in every city's hotline.
    weights = [0.0] * len(leaves)
    for rank, i in enumerate(order):
        weights[i] = 1.0 / (rank + 3) ** 0.9
    refs = {}
    for c in leaves:
        path = [c.name]
        up = by_id.get(c.parent_id) if c.parent_id else None
        while up is not None:
            path.insert(0, up.name)
            up = by_id.get(up.parent_id) if up.parent_id else None
        refs[c.id] = texts.CategoryRef(code=c.code, path=tuple(path), keywords=tuple(c.keywords))
    areas = session.scalars(select(Area).where(Area.active.is_(True))).all()
    area_by_id = {a.id: a for a in areas}
    district_of: dict[int, int] = {}
    for a in areas:
        node: Area | None = a
        while node is not None and node.level != "district":
            node = area_by_id.get(node.parent_id) if node.parent_id else None
        if node is not None:
            district_of[a.id] = node.id
    children: dict[int, list[Area]] = defaultdict(list)
    for a in areas:
        if a.parent_id:
            children[a.parent_id].append(a)
    places: list[tuple[Area, texts.PlaceRef]] = []
    for a in areas:
        district = area_by_id[district_of[a.id]] if a.id in district_of else None
        if a.level == "street" and district is not None:
            communities: list[str | None] = [c.name for c in children.get(a.id, [])] or [None]
            for community in communities:
                places.append((a, texts.PlaceRef(district.name, a.name, community)))
        elif a.level == "district" and not children.get(a.id):
            places.append((a, texts.PlaceRef(a.name, None, None)))
    units = session.scalars(
        select(HandlingUnit)
        .where(HandlingUnit.active.is_(True))
        .options(selectinload(HandlingUnit.areas), selectinload(HandlingUnit.categories))
    ).all()
    specialists: dict[int, list[HandlingUnit]] = defaultdict(list)
    street_office: dict[int, HandlingUnit] = {}
    district_government: dict[int, HandlingUnit] = {}
    for u in units:
        if u.kind == "street_office":
            for a in u.areas:
                street_office[a.id] = u
        elif u.kind == "district_government":
            for a in u.areas:
                district_government[a.id] = u
        else:
            prefixes = tuple(c.path for c in u.categories)
            for leaf in leaves:
                if leaf.path.startswith(prefixes):
                    specialists[leaf.id].append(u)
    return CityIndex(
        leaves, weights, places, specialists, street_office, district_government, district_of, refs
    )


class Simulator:
    """Lives one request's life on its own clock; stops at 'now' like the real city would."""

    def __init__(
        self,
        session: Session,
        ctx: CityContext,
        index: CityIndex,
        rng: random.Random,
        now: datetime,
        desk: dict[str, Actor],
        unit_actors: dict[int, Actor],
    ):
        self.session, self.ctx, self.index, self.rng, self.now = session, ctx, index, rng, now
        self.desk, self.unit_actors = desk, unit_actors
        self.recent: dict[tuple[int, int], ServiceRequest] = {}

    def _act(
        self, req: ServiceRequest, action: str, who: Actor, at: datetime, **params: Any
    ) -> bool:
        if at > self.now:
            return False
        apply_action(self.session, req, action, actor=who, now=at, ctx=self.ctx, params=params)
        return True

    def _hours(self, median: float, spread: float = 0.8) -> timedelta:
        return timedelta(hours=median * math.exp(self.rng.gauss(0, spread)))

    def _unit_for(self, leaf: Category, area: Area) -> HandlingUnit:
        rng, idx = self.rng, self.index
        specialists = idx.specialists.get(leaf.id, [])
        share = 0.8 if leaf.urgency == "utility" else 0.3
        if specialists and rng.random() < share:
            return rng.choice(specialists)
        if area.id in idx.street_office:
            return idx.street_office[area.id]
        district = idx.district_of.get(area.id, area.id)
        return idx.district_government.get(district) or rng.choice(
            specialists or list(idx.street_office.values())
        )

    def run(self, received_at: datetime, number: int, story: Story | None = None) -> ServiceRequest:
        rng, idx = self.rng, self.index
        if story is not None:
            leaf, (area, place) = story.leaf, story.place
        else:
            leaf = rng.choices(idx.leaves, weights=idx.leaf_weights)[0]
            area, place = rng.choice(idx.places)
        composed = texts.compose_request(rng, idx.refs[leaf.id], place)
        name, phone = texts.synthetic_person(rng)
        channel = rng.choices([c for c, _ in CHANNEL_MIX], weights=[w for _, w in CHANNEL_MIX])[0]
        data = RequestIn(
            channel=channel,
            text=composed.text,
            title=composed.title,
            address=composed.address,
            lat=area.lat,
            lon=area.lon,
            area=area.code,
            received_at=received_at,
            contact=ContactIn(name=name, phone=phone),
            source_key=f"demo-{number}",
        )
        req, _ = submit_request(
            self.session,
            data,
            actor=self.desk["operator"],
            now=received_at,
            ctx=self.ctx,
            synthetic=True,
        )
        self._live(req, leaf, area, received_at)
        self.recent[(leaf.id, area.id)] = req
        return req

    def _live(self, req: ServiceRequest, leaf: Category, area: Area, t: datetime) -> None:
        rng, desk = self.rng, self.desk
        t += timedelta(minutes=rng.uniform(5, 90))
        roll = rng.random()
        if roll < 0.025:
            if self._act(
                req,
                "mark_invalid",
                desk["operator"],
                t,
                reason="来电内容与政府职能无关，属无效诉求",
            ):
                self._act(req, "confirm_invalid", desk["supervisor"], t + self._hours(20))
            return
        original = self.recent.get((leaf.id, area.id))
        if roll < 0.05 and original is not None and original.status not in ("merged", "invalid"):
            self._act(req, "merge", desk["dispatcher"], t, into=original.ticket)
            return
        if req.status == "dispatched" and req.lead_unit is not None:
            # The catalogue dispatched it at intake; the dispatcher fixes a wrong category.
            unit = req.lead_unit
            if req.category_id != leaf.id:
                self._act(req, "categorize", desk["dispatcher"], t, category=leaf.code)
        else:
            unit = self._unit_for(leaf, area)
            if not self._act(
                req, "dispatch", desk["dispatcher"], t, unit=unit.code, category=leaf.code
            ):
                return
        if rng.random() < 0.07:
            # Units return inside the catalogue's window (24 hours in the demo city).
            t += min(self._hours(6), timedelta(hours=20))
            reason = texts.compose_return_reason(rng, self.index.refs[leaf.id])
            if not self._act(req, "return", self.unit_actors[unit.id], t, reason=reason):
                return
            t += self._hours(2)
            unit = self._unit_for(leaf, area) if rng.random() < 0.5 else self._other(unit, area)
            if not self._act(req, "dispatch", desk["dispatcher"], t, unit=unit.code):
                return
        self._handle(req, leaf, unit, t, first=True)

    def _other(self, unit: HandlingUnit, area: Area) -> HandlingUnit:
        district = self.index.district_of.get(area.id, area.id)
        gov = self.index.district_government.get(district)
        return gov if gov is not None and gov.id != unit.id else unit

    def _handle(
        self, req: ServiceRequest, leaf: Category, unit: HandlingUnit, t: datetime, *, first: bool
    ) -> None:
        rng, desk, handler = self.rng, self.desk, self.unit_actors[unit.id]
        assert req.response_due is not None and req.handling_due is not None
        response_window = (req.response_due - t).total_seconds() / 3600
        t += self._hours(max(0.1, response_window * 0.25), 0.9)
        if not self._act(req, "accept", handler, t):
            return
        window = max(1.0, (req.handling_due - t).total_seconds() / 3600)
        # Most units answer well inside the limit; a tail runs late, as in every real city.
        t += timedelta(
            hours=window * min(1.6, rng.betavariate(2.2, 3.5) * (1.5 if rng.random() < 0.12 else 1))
        )
        complex_case = leaf.urgency == "complex"
        solved = rng.random() < (0.55 if complex_case else 0.8) + (0.1 if not first else 0)
        reply = texts.compose_reply(rng, self.index.refs[leaf.id], solved=solved)
        if not self._act(req, "reply", handler, t, text=reply):
            return
        t += timedelta(hours=rng.uniform(2, 48))
        if solved:
            satisfaction = rng.choices(("satisfied", "basically", "unsatisfied"), (85, 12, 3))[0]
        else:
            satisfaction = rng.choices(("satisfied", "basically", "unsatisfied"), (15, 30, 55))[0]
        note = texts.compose_callback_note(rng, solved=solved, satisfied=satisfaction)
        if not self._act(
            req,
            "call_back",
            desk["operator"],
            t,
            solved=solved,
            satisfaction=satisfaction,
            note=note,
        ):
            return
        if first and satisfaction == "unsatisfied" and rng.random() < 0.5:
            t += self._hours(3)
            if self._act(req, "reopen", desk["operator"], t, reason="市民回访不满意，要求重新办理"):
                self._handle(req, leaf, unit, t, first=False)
            return
        self._act(req, "close", desk["operator"], t + timedelta(minutes=rng.uniform(1, 30)))


@dataclass(frozen=True)
class Story:
    """A problem planted in the synthetic history so that the analysis has something real to
    find: a surge of one kind at one street in the last week (a cold snap and the heating), and
    the same problem at one community month after month."""

    name: str
    leaf: Category
    place: tuple[Area, texts.PlaceRef]


def _leaf_named(index: CityIndex, words: tuple[str, ...], fallback: int) -> Category:
    for leaf in index.leaves:
        if any(w in leaf.name for w in words):
            return leaf
    ranked = sorted(range(len(index.leaves)), key=lambda i: -index.leaf_weights[i])
    return index.leaves[ranked[min(fallback, len(ranked) - 1)]]


def story_times(
    rng: random.Random, index: CityIndex, n: int, now: datetime, tz: ZoneInfo
) -> list[tuple[datetime, Story]]:
    """About one request in twenty-five goes to the planted stories (none for tiny demos)."""
    if n < 400 or not index.places:
        return []
    streets = [p for p in index.places if p[0].level == "street"] or index.places
    communities = [p for p in streets if p[1].community] or streets
    surge = Story(
        "surge", _leaf_named(index, ("采暖", "供暖", "暖气", "供热"), 0), rng.choice(streets)
    )
    recurring = Story("recurring", _leaf_named(index, ("噪音", "扰民"), 1), rng.choice(communities))
    today = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    out: list[tuple[datetime, Story]] = []
    k = min(n // 25, 60)
    for i in range(k):  # the last seven complete days, evenly
        day = today - timedelta(days=7 - i % 7)
        out.append((day + timedelta(hours=rng.uniform(7, 22)), surge))
    month = today.replace(day=1)
    for _ in range(4):  # each of the last four complete months, three times
        month = (month - timedelta(days=1)).replace(day=1)
        for _ in range(3):
            out.append((month + timedelta(days=rng.randrange(27), hours=rng.uniform(8, 20)),
                        recurring))  # fmt: skip
    return out


def received_times(
    rng: random.Random, n: int, now: datetime, tz: ZoneInfo, days: int = 365
) -> list[datetime]:
    start = now.astimezone(tz) - timedelta(days=days)
    out = []
    for _ in range(n):
        day = start + timedelta(days=rng.randrange(days))
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        # Hours are counted in city time: 08:00 in Beijing is 00:00 UTC.
        local = day.replace(hour=0, minute=0, second=0, microsecond=0)
        t = local + timedelta(hours=hour, minutes=rng.uniform(0, 60))
        out.append(min(t, now - timedelta(minutes=1)))
    return sorted(out)


def unit_actors(session: Session, now: datetime) -> dict[int, Actor]:
    """Each unit's duty account: acts for the unit in the synthetic history; cannot sign in."""
    existing = {u.unit_id: u for u in session.scalars(select(User).where(User.role == "handler"))}
    out = {}
    for unit in session.scalars(select(HandlingUnit).where(HandlingUnit.active.is_(True))):
        user = existing.get(unit.id)
        if user is None:
            user = User(
                username=f"duty-{unit.code}".lower(),
                display_name=f"{unit.name}值班",
                role="handler",
                unit_id=unit.id,
                password_hash="",
                created_at=now,
            )
            session.add(user)
            session.flush()
        out[unit.id] = Actor.of(user)
    return out


def seed_history(
    session: Session,
    ctx: CityContext,
    *,
    n: int,
    now: datetime,
    desk: dict[str, Actor],
    seed: int = 12345,
    progress: Callable[[int], None] | None = None,
    commit_every: int = 250,
) -> SeedStats:
    rng = random.Random(seed)
    index = index_city(session, rng)
    sim = Simulator(session, ctx, index, rng, now, desk, unit_actors(session, now))
    stats = SeedStats()
    stories = story_times(rng, index, n, now, ctx.tz)
    planned: list[tuple[datetime, Story | None]] = [
        (t, None) for t in received_times(rng, n - len(stories), now, ctx.tz)
    ]
    planned += [(min(t, now - timedelta(minutes=1)), st) for t, st in stories]
    planned.sort(key=lambda x: x[0])
    for i, (received_at, story) in enumerate(planned, start=1):
        req = sim.run(received_at, i, story)
        stats.requests += 1
        stats.events += req.event_count
        stats.by_status[req.status] += 1
        if i % commit_every == 0:
            session.commit()
            if progress:
                progress(i)
    session.commit()
    if progress:
        progress(n)
    return stats
