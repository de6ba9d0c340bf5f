"""The soak's load: a steady, open-loop stream of the calls a city's day is made of.

Open loop: call i is due at ``i / rate`` seconds whether or not earlier calls have been
answered, the way citizens and desks do not wait for each other. A slow server therefore
shows as growing latency (measured from when each call was due, so waiting in the load
generator is counted, not hidden) and growing numbers in flight, never as a politely lower
rate. More than ``MAX_IN_FLIGHT`` unanswered calls means the server is not keeping up: the
due call is not sent and counts as an error.

Each call is chosen when it is due: a read with probability ``read_share`` (request lists and
details at the desks, Open311 reads, the public tracking page and its JSON twin), else a write
(an operator's or a citizen's submission with a composed realistic text, or the next desk step
of an open case: dispatch, the unit's accept, its reply). A case is taken out of its queue
when its call is chosen, so two calls never race on one request: every answer other than the
expected one is an error.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from jiesu.demo import texts
from jiesu.ops.soak.site import City, Place
from jiesu.ops.soak.stats import Call
from jiesu.web.citizen import track_code

MAX_IN_FLIGHT = 200
TIMEOUT_SECONDS = 30.0
RECENT = 300  # reads pick a recent request half of the time: what people look at

READS: dict[str, float] = {
    "list": 20,
    "detail": 25,
    "track_page": 20,
    "track_api": 10,
    "open311_requests": 10,
    "open311_request": 10,
    "open311_services": 5,
}
WRITES: dict[str, float] = {"submit": 40, "submit_public": 10, "desk_step": 50}


@dataclass
class Planned:
    """A call chosen and ready to send."""

    kind: str
    method: str
    path: str
    expect: tuple[int, ...] = (200,)
    token: str | None = None
    json: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    then: Callable[[httpx.Response], None] | None = None


class Mix:
    """Chooses the next call from the city's state as the load has left it."""

    def __init__(self, city: City, *, read_share: float, secret_key: str, seed: int) -> None:
        self.city, self.read_share, self.secret = city, read_share, secret_key
        self.rng = random.Random(seed)
        self.serial = 0

    def next(self) -> Planned:
        rng = self.rng
        table = READS if rng.random() < self.read_share else WRITES
        kind = rng.choices(list(table), weights=list(table.values()))[0]
        if kind in READS and not self.city.tickets:
            kind = "submit"  # nothing to read yet
        if kind == "desk_step":
            return self._desk_step() or self._submit()
        return getattr(self, f"_{kind}")()  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ reads
    def _ticket(self) -> str:
        tickets = self.city.tickets
        recent = tickets[-RECENT:]
        return self.rng.choice(recent if self.rng.random() < 0.5 else tickets)

    def _list(self) -> Planned:
        rng, city = self.rng, self.city
        params: dict[str, Any] = rng.choice(
            [
                {},
                {"status": "dispatched,accepted"},
                {"area": rng.choice(city.districts)} if city.districts else {},
                {"sort": "urgency"},
                {"category": rng.choice(city.categories).code[:2]},
                {"page": 2},
            ]
        )
        return Planned("list", "GET", "/api/v1/requests", token=city.tokens["dispatcher"],
                       params={"page_size": 20, **params})  # fmt: skip

    def _detail(self) -> Planned:
        # A dispatcher is shown the caller in full, so each of these views is also recorded
        # in the personal-data read chain: a read that writes, as at a real desk.
        return Planned("detail", "GET", f"/api/v1/requests/{self._ticket()}",
                       token=self.city.tokens["dispatcher"])  # fmt: skip

    def _track_page(self) -> Planned:
        ticket = self._ticket()
        return Planned("track_page", "GET", f"/t/{ticket}/{track_code(ticket, self.secret)}")

    def _track_api(self) -> Planned:
        return Planned("track_api", "GET", f"/api/v1/public/requests/{self._ticket()}")

    def _open311_requests(self) -> Planned:
        params = {"page_size": 50}
        if self.rng.random() < 0.5:
            params["status"] = "open"  # type: ignore[assignment]
        return Planned("open311_requests", "GET", "/open311/v2/requests.json", params=params)

    def _open311_request(self) -> Planned:
        return Planned("open311_request", "GET", f"/open311/v2/requests/{self._ticket()}.json")

    def _open311_services(self) -> Planned:
        return Planned("open311_services", "GET", "/open311/v2/services.json")

    # ------------------------------------------------------------------ writes
    def _compose(self) -> tuple[texts.CategoryRef, Place, texts.ComposedRequest]:
        rng, city = self.rng, self.city
        category = rng.choices(city.categories, weights=city.weights)[0]
        place = rng.choice(city.places)
        return category, place, texts.compose_request(rng, category, place.ref)

    def _submit(self) -> Planned:
        rng = self.rng
        category, place, composed = self._compose()
        body: dict[str, Any] = {"text": composed.text, "address": composed.address,
                                "area": place.area, "channel": "phone"}  # fmt: skip
        # Most operators pick the category; some leave it to the machine's reading.
        if rng.random() < 0.7:
            body["category"], body["title"] = category.code, composed.title
        if rng.random() < 0.6:
            name, phone = texts.synthetic_person(rng)
            body["contact"] = {"name": name, "phone": phone}
        self.serial += 1

        def then(r: httpx.Response) -> None:
            out = r.json()
            self.city.tickets.append(out["ticket"])
            case = (out["ticket"], category.code)
            if out["status"] == "dispatched" and out.get("lead_unit"):
                self.city.to_accept.append((*case, out["lead_unit"]["code"]))
            elif out["status"] == "received":
                self.city.to_dispatch.append((*case, place.office))

        return Planned("submit", "POST", "/api/v1/requests", expect=(201,),
                       token=self.city.tokens["operator"], json=body,
                       headers={"Idempotency-Key": f"soak-{self.serial}-{rng.getrandbits(32)}"},
                       then=then)  # fmt: skip

    def _submit_public(self) -> Planned:
        rng = self.rng
        category, place, composed = self._compose()
        body: dict[str, Any] = {"text": composed.text, "address": composed.address}
        if rng.random() < 0.5:
            body["area"] = place.area
        if rng.random() < 0.3:
            body["category"] = category.code
        if rng.random() < 0.5:
            name, phone = texts.synthetic_person(rng)
            body["contact"] = {"name": name, "phone": phone}

        def then(r: httpx.Response) -> None:
            self.city.tickets.append(r.json()["ticket"])

        return Planned("submit_public", "POST", "/api/v1/public/requests", expect=(201,),
                       json=body, then=then)  # fmt: skip

    def _desk_step(self) -> Planned | None:
        city, rng = self.city, self.rng
        queues = [q for q in (city.to_dispatch, city.to_accept, city.to_reply) if q]
        while queues:
            queue = rng.choice(queues)
            ticket, category, unit = queue.pop(rng.randrange(len(queue)))
            if queue is city.to_dispatch:
                return self._dispatch(ticket, category, unit)
            token = city.unit_tokens.get(unit)
            if token is None:  # a unit without a duty account: its cases stay open
                queues = [q for q in queues if q]
                continue
            if queue is city.to_accept:
                return self._accept(ticket, category, unit, token)
            return self._reply(ticket, category, token)
        return None

    def _dispatch(self, ticket: str, category: str, unit: str) -> Planned:
        def then(r: httpx.Response) -> None:
            lead = r.json().get("lead_unit") or {}
            self.city.to_accept.append((ticket, category, lead.get("code", unit)))

        return Planned("dispatch", "POST", f"/api/v1/requests/{ticket}/dispatch",
                       token=self.city.tokens["dispatcher"],
                       json={"unit": unit, "category": category}, then=then)  # fmt: skip

    def _accept(self, ticket: str, category: str, unit: str, token: str) -> Planned:
        def then(_: httpx.Response) -> None:
            self.city.to_reply.append((ticket, category, unit))

        return Planned("accept", "POST", f"/api/v1/requests/{ticket}/accept", token=token,
                       then=then)  # fmt: skip

    def _reply(self, ticket: str, category: str, token: str) -> Planned:
        ref = next((c for c in self.city.categories if c.code == category), None)
        solved = self.rng.random() < 0.8
        text = (
            texts.compose_reply(self.rng, ref, solved=solved)
            if ref is not None
            else "已到现场处理完毕，后续将持续跟进。"
        )
        return Planned("reply", "POST", f"/api/v1/requests/{ticket}/reply", token=token,
                       json={"text": text})  # fmt: skip


@dataclass
class Progress:
    """What the load has done so far, for the sampler's line on stderr."""

    sent: int = 0
    done: int = 0
    errors: int = 0
    in_flight: int = 0


async def _send(
    http: httpx.AsyncClient, plan: Planned, due: float, t0: float, progress: Progress
) -> Call:
    sent = time.monotonic()
    headers = dict(plan.headers)
    if plan.token:
        headers["Authorization"] = f"Bearer {plan.token}"
    status: int | None = None
    error: str | None = None
    try:
        r = await http.request(plan.method, plan.path, params=plan.params, json=plan.json,
                               headers=headers)  # fmt: skip
        status = r.status_code
        if status not in plan.expect:
            error = f"{status} {r.text[:300]}"
        elif plan.then is not None:
            plan.then(r)
    except Exception as exc:  # any exception is an error of the run, recorded, never raised
        error = f"{type(exc).__name__}: {exc}"[:300]
    ended = time.monotonic()
    progress.done += 1
    progress.errors += error is not None
    return Call(plan.kind, due - t0, (ended - due) * 1000, status, error, (sent - due) * 1000)


async def drive(
    url: str,
    mix: Mix,
    *,
    rate: float,
    seconds: float,
    progress: Progress,
    calls: list[Call],
    on_start: Callable[[float], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Send ``rate`` calls a second for ``seconds`` and wait for their answers; each call is
    added to ``calls`` as it ends. ``on_start`` is told the monotonic time the load starts at
    (the zero of every ``Call.at``)."""
    pending: set[asyncio.Task[Call]] = set()

    def ended(task: asyncio.Task[Call]) -> None:
        pending.discard(task)
        progress.in_flight = len(pending)
        if not task.cancelled():  # cancelled: the soak was interrupted and measures nothing
            calls.append(task.result())

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT_SECONDS, limits=limits) as http:
        t0 = time.monotonic()
        if on_start is not None:
            on_start(t0)
        i = 0
        while True:
            due = t0 + i / rate
            if due - t0 >= seconds or (stop is not None and stop.is_set()):
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            i += 1
            plan = mix.next()
            progress.sent += 1
            if len(pending) >= MAX_IN_FLIGHT:
                progress.done += 1
                progress.errors += 1
                calls.append(Call(plan.kind, due - t0, 0.0, None,
                                  f"not sent: {len(pending)} calls already in flight"))  # fmt: skip
                continue
            task = asyncio.create_task(_send(http, plan, due, t0, progress))
            pending.add(task)
            task.add_done_callback(ended)
            progress.in_flight = len(pending)
        if pending:
            await asyncio.wait(pending)


def kinds_of(calls: Sequence[Call]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in calls:
        out[c.kind] = out.get(c.kind, 0) + 1
    return dict(sorted(out.items()))
