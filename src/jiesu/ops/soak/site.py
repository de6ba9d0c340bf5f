"""The soak's own installation: a scratch database and data dir, the demo city, its people.

The soak never runs against an installation's data: SQLite lives in a temporary folder, and on
PostgreSQL it creates a database of its own on the server it is given (``jiesu_soak_<pid>_…``)
and drops it afterwards. The database it was pointed at is only connected to, to do that.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, selectinload

from jiesu.city.cli import DEMO_PACK
from jiesu.city.models import Area, HandlingUnit
from jiesu.city.pack import read_pack
from jiesu.city.service import apply_pack, city_context, forget_city_context
from jiesu.config import Settings
from jiesu.db.engine import make_engine, make_sessionmaker, session_scope
from jiesu.db.migrate import upgrade
from jiesu.demo import texts
from jiesu.demo.seed import index_city, seed_history, unit_actors
from jiesu.errors import BadInput
from jiesu.kit.cache import forget_everything
from jiesu.kit.clock import utcnow
from jiesu.people.models import User
from jiesu.people.service import Actor, create_user, issue_token
from jiesu.privacy.keys import ensure_data_key, use_settings
from jiesu.workflow.models import ServiceRequest

DESK = ("operator", "dispatcher", "supervisor")


@dataclass
class Site:
    """Where the soak's server runs: its database, data dir and environment."""

    backend: str  # "sqlite" or "postgresql"
    db_url: str
    data_dir: Path
    secret_key: str  # the server's; tracking links are signed with it
    env: dict[str, str] = field(default_factory=dict)

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir, database_url=self.db_url, secret_key=self.secret_key
        )


def check_server_url(db_url: str | None) -> None:
    """Only a PostgreSQL server is taken: the soak makes its own database on it."""
    if db_url is None:
        return
    try:
        url = make_url(db_url)
    except Exception:
        raise BadInput("--db-url", f"{db_url!r} is not a database URL") from None
    if not url.drivername.startswith("postgresql"):
        raise BadInput(
            "--db-url",
            "give a PostgreSQL server (postgresql+psycopg://user@host/db), on which the soak "
            "creates and drops a database of its own; without it, it uses a SQLite file in a "
            "temporary folder",
        )


@contextmanager
def scratch_site(db_url: str | None, *, keep: bool = False) -> Iterator[Site]:
    """A fresh installation for one soak, removed afterwards unless ``keep``."""
    check_server_url(db_url)
    folder = Path(tempfile.mkdtemp(prefix="jiesu-soak-"))
    data_dir = folder / "data"
    data_dir.mkdir()
    admin = None
    name = f"jiesu_soak_{os.getpid()}_{int(time.time())}"
    if db_url is None:
        site = Site("sqlite", f"sqlite:///{data_dir / 'jiesu.db'}", data_dir, "")
    else:
        # The server's URL without a search_path or other options: a database is made here.
        admin = make_engine(
            make_url(db_url).set(query={}).render_as_string(hide_password=False),
            isolation_level="AUTOCOMMIT",
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(db_url).set(database=name, query={})
        site = Site("postgresql", url.render_as_string(hide_password=False), data_dir, "")
    site.secret_key = secrets.token_urlsafe(32)
    site.env = {
        **os.environ,
        "JIESU_DATABASE_URL": site.db_url,
        "JIESU_DATA_DIR": str(data_dir),
        "JIESU_SECRET_KEY": site.secret_key,
        "JIESU_LOG_LEVEL": "WARNING",
        # Every call comes from 127.0.0.1: one address's Open311 read budget would be the
        # limiter's test, not the server's. The limiter has tests of its own.
        "JIESU_OPEN311_RATE_PER_MINUTE": "1000000",
    }
    try:
        yield site
    finally:
        forget_city_context()
        forget_everything()
        if admin is not None:
            if not keep:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Place:
    area: str  # area code
    ref: texts.PlaceRef
    office: str  # the unit a dispatcher sends it to when the catalogue does not decide


@dataclass
class City:
    """What the load generator needs of the city to write like its citizens and desks."""

    categories: list[texts.CategoryRef]
    weights: list[float]  # how often each category is reported (a few carry most calls)
    places: list[Place]
    districts: list[str]  # district codes, for list filters
    tokens: dict[str, str]  # desk role → API token
    unit_tokens: dict[str, str]  # unit code → its duty account's API token
    tickets: list[str]  # every request there is
    # Open cases at the desks: (ticket, category code, unit code)
    to_dispatch: list[tuple[str, str, str]]
    to_accept: list[tuple[str, str, str]]
    to_reply: list[tuple[str, str, str]]
    history: int


def seed(site: Site, *, history: int, seed_value: int) -> City:
    """The demo city pack, the desk's accounts, a duty account per unit (each with a token),
    and ``history`` requests of synthetic history lived through the real services."""
    s = site.settings()
    ensure_data_key(s)  # the server finds the same key file in the data dir
    use_settings(s)
    upgrade(site.db_url)
    engine = make_engine(site.db_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            now = utcnow()
            apply_pack(session, read_pack(DEMO_PACK), now=now)
            desk = {
                role: create_user(
                    session, username=f"soak-{role}", role=role, password=None, now=now
                )
                for role in DESK
            }
            tokens = {
                role: issue_token(session, u, now=now, name="soak") for role, u in desk.items()
            }
            session.flush()
            if history:
                seed_history(
                    session,
                    city_context(session),
                    n=history,
                    now=now,
                    desk={r: Actor.of(u) for r, u in desk.items()},
                    seed=seed_value,
                )
            unit_actors(session, now)  # duty accounts, made by the history if it ran
            unit_tokens = _duty_tokens(session, now)
            city = _city(session, seed_value, tokens, unit_tokens)
        return city
    finally:
        engine.dispose()


def _duty_tokens(session: Session, now: datetime) -> dict[str, str]:
    users = session.scalars(
        select(User).where(User.role == "handler").options(selectinload(User.unit))
    ).all()
    return {
        u.unit.code: issue_token(session, u, now=now, name="soak")
        for u in users
        if u.unit is not None
    }


def _city(
    session: Session, seed_value: int, tokens: dict[str, str], unit_tokens: dict[str, str]
) -> City:
    index = index_city(session, random.Random(seed_value))
    office_of: dict[int, str] = {}  # area id → unit code
    places = []
    for area, ref in index.places:
        office = index.street_office.get(area.id) or index.district_government.get(
            index.district_of.get(area.id, -1)
        )
        if office is not None:
            office_of[area.id] = office.code
            places.append(Place(area.code, ref, office.code))
    districts = list(session.scalars(select(Area.code).where(Area.level == "district")))
    units = {uid: code for uid, code in session.execute(select(HandlingUnit.id, HandlingUnit.code))}
    category_code = {c.id: c.code for c in index.leaves}
    rows = session.execute(
        select(
            ServiceRequest.ticket,
            ServiceRequest.status,
            ServiceRequest.lead_unit_id,
            ServiceRequest.category_id,
            ServiceRequest.area_id,
        )
    ).all()
    to_dispatch: list[tuple[str, str, str]] = []
    to_accept: list[tuple[str, str, str]] = []
    to_reply: list[tuple[str, str, str]] = []
    for ticket, status, unit_id, category_id, area_id in rows:
        category = category_code.get(category_id or -1)
        if category is None:
            continue
        if status == "received" and area_id in office_of:
            to_dispatch.append((ticket, category, office_of[area_id]))
        elif status in ("dispatched", "accepted") and unit_id in units:
            (to_accept if status == "dispatched" else to_reply).append(
                (ticket, category, units[unit_id])
            )
    return City(
        categories=[index.refs[c.id] for c in index.leaves],
        weights=index.leaf_weights,
        places=places,
        districts=districts,
        tokens=tokens,
        unit_tokens=unit_tokens,
        tickets=[t for t, *_ in rows],
        to_dispatch=to_dispatch,
        to_accept=to_accept,
        to_reply=to_reply,
        history=len(rows),
    )
