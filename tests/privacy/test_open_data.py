"""`jiesu export open-data` on a real database and warehouse: counts, rates, suppression and
that nothing personal reaches any file.

The history (October and November 2026 in the factory city) is planned cell by cell, so every
published count can be checked against the plan, and every caller left a contact and said
their phone number, plate and ID number in their words.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.analytics.warehouse import Warehouse
from jiesu.cli import app
from jiesu.kit.clock import FixedClock
from jiesu.privacy.open_data import TABLES, OpenData, OpenDataSpec, build_open_data
from jiesu.privacy.open_files import write_open_data
from jiesu.privacy.open_records import GRID, write_records
from jiesu.privacy.pii import find_pii
from jiesu.privacy.suppression import Relation
from jiesu.rates.definitions import DEFAULTS
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.service import apply_action
from suppressionkit import pinned

from factories import World, make_request, make_world

OCT = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # Monday 5 October, 10:00 in Beijing
NOV = datetime(2026, 11, 9, 2, 0, tzinfo=UTC)
AS_OF = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
ID_NUMBER = "110105199001011235"  # a valid resident ID number (check digit 5)
STREETS = {"110101001": "110101", "110101008": "110101", "110102": "110102"}
CAT = {"noise": "010101", "water": "010102", "demolition": "010104"}
# (month start, street, kind, channel, how many): October's cells are designed so that one
# small cell forces complementary suppression along every total it is part of.
PLAN = [
    (OCT, "110101001", "noise", "phone", 30),  # walked through to the end: the rates
    (OCT, "110101001", "noise", "web", 10),
    (OCT, "110101008", "water", "phone", 10),
    (OCT, "110101008", "water", "web", 10),
    (OCT, "110102", "noise", "phone", 10),
    (OCT, "110102", "demolition", "app", 3),  # small
    (NOV, "110101001", "noise", "phone", 12),
    (NOV, "110102", "water", "wechat", 2),  # small
]
WALKED = 30
BASICALLY = 5  # of the walked, "basically satisfied"
# One hour to accept, a day to reply, two hours to the call-back, five minutes to close.
HANDLING_HOURS = 1 + 24 + 2 + 5 / 60


@dataclass
class Planned:
    session: Session
    world: World
    requests: list[ServiceRequest]
    callers: list[dict[str, str]]


def caller(i: int) -> dict[str, str]:
    return {
        "name": f"欧阳{'春夏秋冬'[i % 4]}{i}",
        "phone": f"1391111{i:04d}",
        "email": f"u{i}@a.cn",
    }


def build(session: Session) -> Planned:
    clock = FixedClock(OCT)
    world = make_world(session, clock.now())
    requests, callers, n = [], [], 0
    for start, street, kind, channel, count in PLAN:
        for k in range(count):
            clock.set(start + timedelta(hours=k))
            who = caller(n)
            text = (
                f"我的电话{who['phone']}，车牌京A{n:05d}，身份证{ID_NUMBER}，"
                f"邮箱{who['email']}。小区{kind}问题一直没人管，3号楼2单元，2026年10月"
            )
            req = make_request(
                session,
                world,
                clock.now(),
                text=text,
                category=CAT[kind],
                area=street,
                channel=channel,
                lat=39.9123 + n * 0.0001,
                lon=116.4071,
                contact=who,
            )
            requests.append(req)
            callers.append(who)
            n += 1
    for i, req in enumerate(requests[:WALKED]):
        t = req.received_at
        for action, who, delay, params in (
            ("dispatch", "disp", timedelta(0), {"unit": "ST-110101001"}),
            ("accept", "h1", timedelta(hours=1), {}),
            ("reply", "h1", timedelta(days=1), {"text": "已处理，回电13800001111"}),
            (
                "call_back",
                "op",
                timedelta(hours=2),
                {"solved": True, "satisfaction": "basically" if i < BASICALLY else "satisfied"},
            ),
            ("close", "op", timedelta(minutes=5), {}),
        ):
            t = t + delay
            apply_action(
                session, req, action, actor=world.actor(who), now=t, ctx=world.ctx, params=params
            )
    session.commit()
    return Planned(session, world, requests, callers)


def truth(spec: OpenDataSpec) -> dict[str, Counter[tuple[str | None, ...]]]:
    """What each table must count, from the plan alone (codes, not ids)."""
    out: dict[str, Counter[tuple[str | None, ...]]] = {t: Counter() for t in TABLES}
    for start, street, kind, channel, count in PLAN:
        month = start.astimezone(UTC).strftime("%Y-%m")
        place = STREETS[street] if spec.level == "district" else (
            street if street != "110102" else ""
        )  # fmt: skip
        cat = CAT[kind]
        out["requests"][(month, place, cat, channel)] += count
        out["totals_place"][(month, place)] += count
        out["totals_category"][(month, cat)] += count
        out["totals_channel"][(month, channel)] += count
        out["totals"][(month,)] += count
    return out


def spec(**kw: object) -> OpenDataSpec:
    base = dict(first=date(2026, 10, 1), last=date(2026, 11, 30), category_level=3)
    return OpenDataSpec(**(base | kw))  # type: ignore[arg-type]


def export(p: Planned, tmp_path: Path, s: OpenDataSpec) -> tuple[OpenData, Path]:
    """As the command does it: refresh, build, records, then the tables and metadata."""
    wh = Warehouse(tmp_path / "warehouse")
    wh.refresh(p.session, now=AS_OF)
    out = tmp_path / "open"
    out.mkdir()
    with wh.connect() as con:
        data = build_open_data(con, p.session, s, as_of=AS_OF, defs=DEFAULTS)
        tz = p.world.ctx.tz
        records = write_records(out / "records.csv", con, p.session, data, secret="s3", tz=tz)
    write_open_data(
        out, data, city="北京市", timezone="Asia/Shanghai", generated_at=AS_OF, records=records
    )
    return data, out


def read(out: Path, table: str) -> list[dict[str, str]]:
    with (out / f"{table}.csv").open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def key_of(table: str, row: dict[str, str]) -> tuple[str | None, ...]:
    cols = {
        "requests": ("period", "place_code", "category_code", "channel"),
        "totals_place": ("period", "place_code"),
        "totals_category": ("period", "category_code"),
        "totals_channel": ("period", "channel"),
        "totals": ("period",),
    }[table]
    return tuple(row[c] for c in cols)


def relations_of(out: Path, period: str) -> tuple[list[int], list[Relation], set[int], list[int]]:
    """The period's rows as the attacker sees them, from the files alone."""
    counts, hidden, floors = [], set(), []
    index: dict[tuple[str, tuple[str | None, ...]], int] = {}
    rows = {t: [r for r in read(out, t) if r["period"] == period] for t in TABLES}
    truth_counts = truth(spec())
    for t in TABLES:
        for r in rows[t]:
            index[(t, key_of(t, r))] = len(counts)
            if r["suppressed"] == "true":
                hidden.add(len(counts))
                counts.append(truth_counts[t][key_of(t, r)])  # the attacker's target
            else:
                counts.append(int(r["requests"]))
            floors.append(1)
    parts: dict[int, list[int]] = {}
    for r in rows["requests"]:
        cell = index[("requests", key_of("requests", r))]
        for t, k in (
            ("totals_place", (period, r["place_code"])),
            ("totals_category", (period, r["category_code"])),
            ("totals_channel", (period, r["channel"])),
        ):
            parts.setdefault(index[(t, k)], []).append(cell)
    total = index[("totals", (period,))]
    relations = [Relation(m, tuple(ps)) for m, ps in parts.items()]
    for t in ("totals_place", "totals_category", "totals_channel"):
        relations.append(Relation(total, tuple(index[(t, key_of(t, r))] for r in rows[t])))
    for m, ps in parts.items():
        floors[m] = len(ps)
    floors[total] = len(rows["requests"])
    return counts, relations, hidden, floors


def test_counts_rates_and_suppression(session: Session, tmp_path: Path) -> None:
    p = build(session)
    s = spec()
    data, out = export(p, tmp_path, s)
    expected = truth(s)
    for t in TABLES:
        rows = read(out, t)
        assert sorted(key_of(t, r) for r in rows) == sorted(expected[t])  # each once
        for r in rows:
            n = expected[t][key_of(t, r)]
            if r["suppressed"] == "true":
                assert r["requests"] == r["response_rate"] == r["median_handling_hours"] == ""
            else:
                assert int(r["requests"]) == n >= s.min_cell
            if n < s.min_cell:
                assert r["suppressed"] == "true", (t, r)
    # The small October cell took others with it, but the month's total stands.
    assert data.suppressed_primary > 0 and data.suppressed_complementary > 0
    oct_total = read(out, "totals")[0]
    assert oct_total == {
        "period": "2026-10",
        "requests": "73",
        "response_rate": "1.0",  # the 30 dispatched were accepted within the hour
        "resolution_rate": "1.0",
        "satisfaction_rate": str(round((WALKED - BASICALLY + 0.8 * BASICALLY) / WALKED, 3)),
        "median_handling_hours": str(round(HANDLING_HOURS, 1)),
        "suppressed": "false",
    }
    nov_total = read(out, "totals")[1]
    assert nov_total["requests"] == "14" and nov_total["response_rate"] == ""  # none judged
    # No hidden count can be worked out, by an attacker who reads the files.
    for period in ("2026-10", "2026-11"):
        counts, relations, hidden, floors = relations_of(out, period)
        assert hidden and pinned(counts, relations, hidden, floors) == []
    meta = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert meta["suppression"]["min_cell"] == 10 and meta["suppression"]["unaudited_periods"] == []
    assert meta["suppression"]["primary"] == data.suppressed_primary
    assert meta["tables"]["requests.csv"]["rows"] == len(read(out, "requests"))
    assert meta["coverage"]["partial_periods"] == []


def test_no_personal_data_reaches_any_file(session: Session, tmp_path: Path) -> None:
    p = build(session)
    _, out = export(p, tmp_path, spec())
    files = sorted(out.iterdir())
    assert {f.name for f in files} == {f"{t}.csv" for t in TABLES} | {
        "records.csv",
        "metadata.json",
    }
    everything = "\n".join(f.read_text(encoding="utf-8-sig") for f in files)
    secrets = [ID_NUMBER, "13800001111", "京A00001"] + [r.ticket for r in p.requests]
    for who in p.callers:
        secrets += [who["name"], who["phone"], who["email"]]
    for secret in secrets:
        assert secret not in everything, secret
    for f in files:
        if f.suffix == ".csv":
            with f.open(encoding="utf-8-sig", newline="") as fh:
                for row in csv.reader(fh):
                    for value in row:
                        assert find_pii(value) == [], (f.name, value)
    records = read(out, "records")
    published = {key_of("requests", r): int(r["requests"]) for r in read(out, "requests")
                 if r["suppressed"] == "false"}  # fmt: skip
    assert published, "the plan has cells big enough to publish"
    assert Counter(key_of("requests", r) for r in records) == Counter(published)
    first = records[0]["description"]
    assert "139****" in first and "京A*****" in first and "110105************" in first
    assert "***@***" in first and "3号楼2单元" in first  # ordinary numbers stay
    assert len({r["record_id"] for r in records}) == len(records)
    for r in records:
        assert r["received_hour"].endswith(":00:00+08:00") and len(r["record_id"]) == 20
        if r["lat"]:
            cell = float(r["lat"]) / GRID - 0.5
            assert abs(cell - round(cell)) < 1e-6


def test_by_street_unknown_places_stay_unknown(session: Session, tmp_path: Path) -> None:
    p = build(session)
    s = spec(level="street")
    _, out = export(p, tmp_path, s)
    codes = {r["place_code"] for r in read(out, "totals_place")}
    assert codes == {"110101001", "110101008", ""}  # 西城区 has no street in this city
    names = {r["place_name"] for r in read(out, "totals_place")}
    assert names == {"东华门街道", "交道口街道", "（未定位）"}
    for t in TABLES:
        assert not {"lat", "lon", "community", "grid"} & set(read(out, t)[0])


def test_cli_writes_the_files_and_record_ids_are_keyed(
    session: Session, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(session)
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    args = ["export", "open-data", "--from", "2026-10-01", "--to", "2026-11-30"]
    args += ["--category-level", "3", "--records", "--json"]
    ids = []
    for secret, out in (("one", "a"), ("one", "b"), ("two", "c")):
        monkeypatch.setenv("JIESU_SECRET_KEY", secret)
        res = CliRunner().invoke(app, [*args, "--out", str(tmp_path / out)])
        assert res.exit_code == 0, res.output
        ids.append([r["record_id"] for r in read(tmp_path / out, "records")])
    meta = json.loads((tmp_path / "a" / "metadata.json").read_text(encoding="utf-8"))
    assert meta["coverage"]["from"] == "2026-10-01" and meta["records"]["rows"] == len(ids[0])
    assert ids[0] == ids[1] and ids[0] and not set(ids[0]) & set(ids[2])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min-cell", "0"], "min_cell: must be at least 2"),
        (["--min-cell", "1"], "min_cell: must be at least 2"),
        (["--level", "community"], "level: 'community' is not a level open data may show"),
        (["--period", "week"], "period: 'week' is not a period"),
        (["--category-level", "4"], "category_level: 4 is not 1, 2 or 3"),
        (["--from", "2026-13-01"], "from: '2026-13-01' is not a date"),
        (["--from", "2026-11-30", "--to", "2026-10-01"], "to: 2026-10-01 is before --from"),
    ],
)
def test_bad_input_is_refused_naming_the_option(
    args: list[str],
    message: str,
    session: Session,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_request(session, make_world(session, OCT), OCT)
    session.commit()
    monkeypatch.setenv("JIESU_DATABASE_URL", db_url)
    monkeypatch.setenv("JIESU_DATA_DIR", str(tmp_path / "data"))
    res = CliRunner().invoke(app, ["export", "open-data", "--out", str(tmp_path / "o"), *args])
    assert res.exit_code == 1
    assert message in " ".join(res.output.split())
    assert not (tmp_path / "o").exists()
