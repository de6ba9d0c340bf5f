"""A synthetic warehouse written straight to Parquet, for benchmarks at megacity scale.

Distributions follow a Beijing-like city: 16 districts, 343 streets, about 7,000 communities
of very unequal size; a three-level taxonomy of 517 leaves with a long tail (Zipf); phone
first among channels; a daily rhythm by hour; most requests closed, the newest still open.
Generated month by month with numpy, so memory stays at one month's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jiesu.analytics import schema
from jiesu.analytics.warehouse import Warehouse

BEIJING_OFFSET_S = 8 * 3600  # the synthetic city keeps Beijing time (no daylight saving)
DISTRICTS, STREETS, COMMUNITIES_PER_STREET = 16, 343, 20
L1, L2_PER_L1, LEAVES = 15, 7, 517
CHANNELS = np.array(["phone", "web", "app", "wechat", "open311", "sensor"])
CHANNEL_P = np.array([0.70, 0.10, 0.08, 0.07, 0.03, 0.02])
URGENCY = np.array(["emergency", "utility", "general", "complex"])
URGENCY_P = np.array([0.02, 0.10, 0.80, 0.08])
# Calls by local hour: quiet at night, peaks mid-morning and early evening.
HOUR_P = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 4.5, 6, 6.2, 5.8, 4.6, 4.8, 5.4, 5.5,
                   5.2, 5, 4.8, 4.6, 4.2, 3.5, 2.6, 1.6])  # fmt: skip
HOUR_P = HOUR_P / HOUR_P.sum()
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Dims:
    parent: np.ndarray  # area id → parent area id
    community_ids: np.ndarray
    community_p: np.ndarray
    leaf_ids: np.ndarray
    leaf_l1: np.ndarray
    leaf_l2: np.ndarray
    leaf_p: np.ndarray
    street_units: np.ndarray  # street id → street office unit id (indexed by street id)
    bureaus: np.ndarray


def write_dims(wh: Warehouse, rng: np.random.Generator) -> Dims:
    wh.root.mkdir(parents=True, exist_ok=True)
    areas: dict[str, list[object]] = {n: [] for n in schema.AREAS.names}

    def area(aid: int, code: str, name: str, level: str, parent: int | None, path: str) -> None:
        for k, v in zip(schema.AREAS.names, (aid, code, name, level, parent, path, None, None),
                        strict=True):  # fmt: skip
            areas[k].append(v)

    area(1, "C", "市", "city", None, "C/")
    community_ids: list[int] = []
    next_id = 2
    district_ids: list[int] = []
    for d in range(DISTRICTS):
        area(next_id, f"D{d:02d}", f"第{d + 1}区", "district", 1, f"C/D{d:02d}/")
        district_ids.append(next_id)
        next_id += 1
    street_ids: list[int] = []
    for st in range(STREETS):
        did = district_ids[st % DISTRICTS]
        area(next_id, f"S{st:03d}", f"第{st + 1}街道", "street", did, f"C/S{st:03d}/")
        sid = next_id
        street_ids.append(sid)
        next_id += 1
        for c in range(COMMUNITIES_PER_STREET):
            area(next_id, f"S{st:03d}C{c:02d}", f"{st + 1}街{c + 1}社区", "community", sid, "")
            community_ids.append(next_id)
            next_id += 1
    pq.write_table(pa.table(areas, schema=schema.AREAS), wh.root / "areas.parquet")

    cats: dict[str, list[object]] = {n: [] for n in schema.CATEGORIES.names}

    def cat(cid: int, code: str, name: str, level: int, parent: int | None) -> None:
        for k, v in zip(schema.CATEGORIES.names, (cid, code, name, level, parent, code + "/"),
                        strict=True):  # fmt: skip
            cats[k].append(v)

    leaf_ids: list[int] = []
    leaf_l1: list[int] = []
    leaf_l2: list[int] = []
    cid = 1
    l2_ids: list[tuple[int, int]] = []
    for a in range(L1):
        cat(cid, f"{a:02d}", f"一级{a + 1}", 1, None)
        l1 = cid
        cid += 1
        for b in range(L2_PER_L1):
            cat(cid, f"{a:02d}{b:02d}", f"二级{a + 1}-{b + 1}", 2, l1)
            l2_ids.append((l1, cid))
            cid += 1
    for i in range(LEAVES):
        l1, l2 = l2_ids[i % len(l2_ids)]
        cat(cid, f"L{i:03d}", f"三级{i + 1}", 3, l2)
        leaf_ids.append(cid)
        leaf_l1.append(l1)
        leaf_l2.append(l2)
        cid += 1
    pq.write_table(pa.table(cats, schema=schema.CATEGORIES), wh.root / "categories.parquet")

    n_units = STREETS + 60
    unit_ids = np.arange(1, n_units + 1)
    units = {
        "id": unit_ids,
        "code": [f"U{i}" for i in unit_ids],
        "name": [f"单位{i}" for i in unit_ids],
        "kind": ["street_office"] * STREETS + ["city_bureau"] * 60,
        "parent_id": [None] * n_units,
    }
    pq.write_table(pa.table(units, schema=schema.UNITS), wh.root / "units.parquet")
    street_units = np.zeros(next_id, dtype=np.int64)
    street_units[np.array(street_ids)] = unit_ids[:STREETS]
    parent = np.zeros(next_id, dtype=np.int64)
    for aid, pid in zip(areas["id"], areas["parent_id"], strict=True):
        parent[int(str(aid))] = int(str(pid or 0))
    # Community sizes are very unequal: a large estate calls far more than a village.
    community_p = rng.lognormal(0, 1.0, len(community_ids))
    leaf_p = 1.0 / np.arange(1, LEAVES + 1) ** 1.1
    return Dims(
        parent=parent,
        community_ids=np.array(community_ids),
        community_p=community_p / community_p.sum(),
        leaf_ids=np.array(leaf_ids),
        leaf_l1=np.array(leaf_l1),
        leaf_l2=np.array(leaf_l2),
        leaf_p=leaf_p / leaf_p.sum(),
        street_units=street_units,
        bureaus=unit_ids[STREETS:],
    )


def _ts(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds.astype("int64") * 1_000_000, type=schema.UTC_TS)


def _maybe_ts(seconds: np.ndarray, present: np.ndarray) -> pa.Array:
    return pa.array(seconds.astype("int64") * 1_000_000, type=schema.UTC_TS, mask=~present)


def month_requests(
    rng: np.random.Generator, dims: Dims, first: date, n: int, first_id: int, *, newest: bool
) -> pa.Table:
    """``n`` requests received in the local month starting ``first``."""
    y, m = first.year, first.month
    days = (date(y + (m == 12), m % 12 + 1, 1) - first).days
    epoch_day = (first - date(1970, 1, 1)).days
    day = rng.integers(0, days, n)
    hour = rng.choice(24, n, p=HOUR_P)
    local_s = (epoch_day + day) * 86400 + hour * 3600 + rng.integers(0, 3600, n)
    received = np.sort(local_s - BEIJING_OFFSET_S)
    local_day = (received + BEIJING_OFFSET_S) // 86400
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    leaf = rng.choice(len(dims.leaf_ids), n, p=dims.leaf_p)
    community = dims.community_ids[rng.choice(len(dims.community_ids), n, p=dims.community_p)]
    street = dims.parent[community]
    district = dims.parent[street]
    urgency = URGENCY[rng.choice(len(URGENCY), n, p=URGENCY_P)]
    to_street = rng.random(n) < 0.7
    lead = np.where(to_street, dims.street_units[street], rng.choice(dims.bureaus, n))
    dispatched = received + rng.integers(60, 7200, n)
    response_due = dispatched + np.where(urgency == "emergency", 7200, 86400)
    accepted = dispatched + rng.exponential(6 * 3600, n).astype(np.int64)
    handling_due = dispatched + np.where(urgency == "emergency", 86400, 7 * 86400)
    replied = accepted + rng.exponential(3 * 86400, n).astype(np.int64)
    closed = replied + rng.integers(3600, 3 * 86400, n)
    # In the newest month a share is still open, the more the later it came in.
    open_share = np.clip((local_day - local_day.min()) / max(days, 1), 0, 1) * 0.5 if newest else 0
    still_open = rng.random(n) < open_share
    statuses = np.where(still_open, rng.choice(["dispatched", "accepted", "replied"], n), "closed")
    is_closed = statuses == "closed"
    satisfaction = rng.choice(["satisfied", "basically", "unsatisfied"], n, p=[0.7, 0.2, 0.1])
    resolution = rng.choice(["solved", "partly", "unsolved"], n, p=[0.75, 0.15, 0.10])
    null_i64 = pa.nulls(n, pa.int64())
    cols = {
        "id": ids,
        "ticket": pc.binary_join_element_wise("B", pc.cast(pa.array(ids), pa.string()), ""),
        "channel": CHANNELS[rng.choice(len(CHANNELS), n, p=CHANNEL_P)],
        "received_at": _ts(received),
        "day": pa.array(local_day.astype("int32"), type=pa.date32()),
        "area_id": community,
        "district_id": district,
        "street_id": street,
        "community_id": community,
        "grid_id": null_i64,
        "category_id": dims.leaf_ids[leaf],
        "cat1_id": dims.leaf_l1[leaf],
        "cat2_id": dims.leaf_l2[leaf],
        "cat3_id": dims.leaf_ids[leaf],
        "category_confirmed": rng.random(n) < 0.6,
        "urgency": urgency,
        "urgency_score": rng.random(n) * 100,
        "status": statuses,
        "lead_unit_id": lead,
        "duplicate_of_id": null_i64,
        "heat": np.ones(n, dtype=np.int32),
        "dispatched_at": _ts(dispatched),
        "response_due": _ts(response_due),
        "handling_due": _ts(handling_due),
        "accepted_at": _ts(accepted),
        "replied_at": _maybe_ts(replied, statuses != "dispatched"),
        "closed_at": _maybe_ts(closed, is_closed),
        "response_overdue": accepted > response_due,
        "handling_overdue": replied > handling_due,
        "return_count": (rng.random(n) < 0.05).astype(np.int32),
        "reopen_count": (rng.random(n) < 0.03).astype(np.int32),
        "solved": pa.array(resolution == "solved", mask=~is_closed),
        "satisfaction": pa.array(satisfaction, mask=~is_closed),
        "resolution": pa.array(resolution, mask=~is_closed),
        "synthetic": np.ones(n, dtype=bool),
        "lat": 39.9 + rng.normal(0, 0.1, n),
        "lon": 116.4 + rng.normal(0, 0.1, n),
        "updated_at": _ts(closed),
    }
    return pa.table(cols, schema=schema.REQUESTS)


EVENT_KINDS = np.array(["received", "dispatch", "accept", "reply", "call_back", "close",
                        "return", "reopen"])  # fmt: skip
EVENT_P = np.array([0.2, 0.19, 0.18, 0.17, 0.14, 0.1, 0.01, 0.01])


def month_events(
    rng: np.random.Generator, requests: pa.Table, per_request: float, first_id: int
) -> pa.Table:
    """Events of a month's requests: kinds by their share in a real stream (not full chains)."""
    n = int(len(requests) * per_request)
    owner = np.sort(rng.integers(0, len(requests), n))
    received = requests["received_at"].cast(pa.int64()).to_numpy()[owner] // 1_000_000
    at = received + rng.integers(0, 3 * 86400, n)
    return pa.table(
        {
            "id": np.arange(first_id, first_id + n, dtype=np.int64),
            "request_id": requests["id"].to_numpy()[owner],
            "seq": np.ones(n, dtype=np.int32),
            "kind": EVENT_KINDS[rng.choice(len(EVENT_KINDS), n, p=EVENT_P)],
            "from_status": pa.nulls(n, pa.string()),
            "to_status": pa.nulls(n, pa.string()),
            "at": _ts(at),
            "day": pa.array(((at + BEIJING_OFFSET_S) // 86400).astype("int32"), type=pa.date32()),
        },
        schema=schema.EVENTS,
    )


def write_synthetic(
    wh: Warehouse,
    rows: int,
    *,
    last_month: date,
    months: int = 48,
    events_per_request: float = 3.0,
    seed: int = 12345,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Fill ``wh`` with ``rows`` synthetic requests over ``months`` months ending with
    ``last_month``, growing slowly (a city's volume rises over the years)."""
    rng = np.random.default_rng(seed)
    dims = write_dims(wh, rng)
    firsts = []
    d = last_month.replace(day=1)
    for _ in range(months):
        firsts.append(d)
        d = (d - timedelta(days=1)).replace(day=1)
    firsts.reverse()
    weights = np.linspace(0.8, 1.2, months)
    sizes = np.floor(rows * weights / weights.sum()).astype(int)
    sizes[-1] += rows - sizes.sum()
    next_req, next_ev, done = 1, 1, 0
    for i, (first, size) in enumerate(zip(firsts, sizes, strict=True)):
        reqs = month_requests(rng, dims, first, int(size), next_req, newest=i == months - 1)
        evs = month_events(rng, reqs, events_per_request, next_ev)
        label = f"{first.year:04d}-{first.month:02d}"
        for table, data in (("requests", reqs), ("events", evs)):
            path = wh.partition(table, label)
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(data, path, compression="zstd")
        next_req += int(size)
        next_ev += len(evs)
        done += int(size)
        if progress is not None:
            progress(done, rows)
    return {"requests": next_req - 1, "events": next_ev - 1, "months": months}
