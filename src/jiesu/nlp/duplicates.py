"""Near-duplicate requests: the same problem reported again, by the same caller or a neighbour.

A duplicate is found from three pieces of evidence, each shown to the operator as a reason:

* the text — weighted Jaccard similarity of character shingles (``jiesu.nlp.shingles``);
* the place — same community or street (area paths), or the distance between coordinates;
* the time — both within a window (default 7 days); older reports are a new occurrence.

``score = text similarity × place factor × time factor``. The place factor is above 1 only for
strong evidence (same community, under 150 m) and far below 1 for different communities or
streets, so an identical text about another compound is not a duplicate. Calibration on real
messages is in docs/nlp.md.

``find_duplicates()`` asks the database about one new request; ``DuplicateIndex`` finds pairs
and clusters in a stream or an imported history without a database.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from jiesu.city.models import Area
from jiesu.kit.cache import PerDatabase
from jiesu.nlp.shingles import (
    NO_CORPUS,
    ShingleStats,
    Weighted,
    compact,
    found_in,
    shingles,
    similarity,
)
from jiesu.workflow.models import ServiceRequest
from jiesu.workflow.transitions import OPEN_STATUSES

WINDOW = timedelta(days=7)
# Score at or above which a pair is reported. On real messages (docs/nlp.md) 30 of 30 pairs
# sampled above 0.25 were the same problem, and 28 of the 32 pairs between 0.20 and 0.30; below
# 0.20 it falls to about 60 %. A person confirms every merge, so recall is worth a little noise.
THRESHOLD = 0.25
# A request proposed as invalid may soon be closed as such: a bad target for a merge.
CANDIDATE_STATUSES = tuple(sorted(OPEN_STATUSES - {"invalid_pending"}))
# At most this many recent requests of the same street (or box) are compared: bounds the work
# per intake whatever the day's volume, at the cost of missing older ones on a very busy street.
MAX_CANDIDATES = 400
# Radius of the box searched around a request that has coordinates but no area.
SEARCH_RADIUS_M = 1500.0
# A stream's index forgets reports older than two windows once every this many additions.
FORGET_EVERY = 10_000
# How much the time gap lowers a score: a report at the edge of the window counts 10 % less.
TIME_DECAY = 0.10

# Place evidence. Above 1 only for strong evidence; reports from different communities or
# streets are almost never one problem, even with the same words (templates, copy-paste).
SAME_COMMUNITY = 1.15
SAME_STREET = 1.0
# Both below THRESHOLD: not even an identical text makes it a duplicate.
OTHER_COMMUNITY = 0.20
OTHER_STREET = 0.10
# (up to metres, factor) — beyond the last step the factor is OTHER_STREET.
DISTANCE_STEPS = ((150.0, 1.15), (500.0, 1.0), (1500.0, 0.5))
PLACE_MAX = max(SAME_COMMUNITY, *(f for _, f in DISTANCE_STEPS))

# Depth of each level in an area path (city/district/street/community/grid).
STREET_DEPTH = 3
COMMUNITY_DEPTH = 4


@dataclass(frozen=True)
class Place:
    area_path: str | None = None
    lat: float | None = None
    lon: float | None = None

    def codes(self) -> list[str]:
        return [c for c in (self.area_path or "").split("/") if c]

    def has_point(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True)
class PlaceMatch:
    factor: float
    reasons: tuple[str, ...] = ()
    distance_m: float | None = None


@dataclass(frozen=True)
class DuplicateCandidate:
    key: Hashable
    score: float
    text_similarity: float
    reasons: tuple[str, ...]
    ticket: str | None = None
    distance_m: float | None = None
    # Seconds from the new request to the candidate: negative when the candidate came first.
    gap_seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """What goes into an event payload or an API answer (no text: texts may be personal)."""
        out: dict[str, Any] = {
            "score": round(self.score, 3),
            "text_similarity": round(self.text_similarity, 3),
            "reasons": list(self.reasons),
        }
        if self.ticket is not None:
            out["ticket"] = self.ticket
        return out


def metres_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine); exact enough at city scale."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def _distance_match(a: Place, b: Place) -> PlaceMatch:
    assert a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None
    metres = metres_between(a.lat, a.lon, b.lat, b.lon)
    factor = next((f for limit, f in DISTANCE_STEPS if metres <= limit), OTHER_STREET)
    return PlaceMatch(factor, (f"{_metres(metres)} apart",), metres)


def _metres(metres: float) -> str:
    if metres < 1000:
        return f"{round(metres / 10) * 10:.0f} m"
    return f"{metres / 1000:.1f} km"


def _area_match(a: Place, b: Place, names: Mapping[str, str]) -> PlaceMatch:
    ca, cb = a.codes(), b.codes()
    shared = 0
    while shared < min(len(ca), len(cb)) and ca[shared] == cb[shared]:
        shared += 1
    both_community = min(len(ca), len(cb)) >= COMMUNITY_DEPTH
    both_street = min(len(ca), len(cb)) >= STREET_DEPTH

    def name(depth: int) -> str:
        code = ca[depth - 1]
        return names.get(code, code)

    if shared >= COMMUNITY_DEPTH:
        return PlaceMatch(SAME_COMMUNITY, (f"same community {name(COMMUNITY_DEPTH)}",))
    if shared == STREET_DEPTH:
        if both_community:
            return PlaceMatch(OTHER_COMMUNITY, (f"other community of {name(STREET_DEPTH)}",))
        return PlaceMatch(SAME_STREET, (f"same street {name(STREET_DEPTH)}",))
    if both_street:
        return PlaceMatch(OTHER_STREET, ("other street",))
    return PlaceMatch(1.0)  # too little known about one of the places: no evidence either way


def compare_places(a: Place, b: Place, names: Mapping[str, str] | None = None) -> PlaceMatch:
    """Coordinates when both have them (metres are sharper than area borders), else areas.
    A shared community is still named as a reason when distance decides."""
    names = names or {}
    by_area = _area_match(a, b, names) if a.area_path and b.area_path else PlaceMatch(1.0)
    if not (a.has_point() and b.has_point()):
        return by_area
    by_distance = _distance_match(a, b)
    extra = by_area.reasons if by_area.factor == SAME_COMMUNITY else ()
    return PlaceMatch(by_distance.factor, by_distance.reasons + extra, by_distance.distance_m)


def time_factor(gap: timedelta, window: timedelta) -> float:
    """1 for the same moment, 1 − TIME_DECAY at the window's edge, 0 outside the window."""
    span = abs(gap.total_seconds())
    limit = window.total_seconds()
    if span > limit:
        return 0.0
    return 1.0 - TIME_DECAY * (span / limit if limit else 0.0)


def describe_gap(gap: timedelta) -> str:
    """``gap`` = candidate's time − new request's time, in words ("2 days earlier")."""
    seconds = gap.total_seconds()
    side = "earlier" if seconds < 0 else "later"
    span = abs(seconds)
    if span < 3600:
        return f"{max(1, round(span / 60))} min {side}"
    if span < 86400:
        return f"{round(span / 3600)} h {side}"
    days = round(span / 86400)
    return f"{days} day{'s' if days != 1 else ''} {side}"


@dataclass(frozen=True)
class Report:
    """One request as the duplicate finder sees it."""

    key: Hashable
    text: Weighted
    received_at: datetime | None = None
    place: Place = field(default_factory=Place)
    ticket: str | None = None


def score_pair(
    new: Report,
    old: Report,
    *,
    window: timedelta = WINDOW,
    names: Mapping[str, str] | None = None,
    text_sim: float | None = None,
) -> DuplicateCandidate | None:
    """How likely ``old`` reports the same problem as ``new``; None when outside the window."""
    sim = similarity(new.text, old.text) if text_sim is None else text_sim
    reasons = [f"text {sim:.0%} similar"]
    t_factor, gap = 1.0, None
    if new.received_at is not None and old.received_at is not None:
        delta = old.received_at - new.received_at
        t_factor = time_factor(delta, window)
        if t_factor == 0.0:
            return None
        gap = delta.total_seconds()
        reasons.append(describe_gap(delta))
    place = compare_places(new.place, old.place, names)
    reasons[1:1] = place.reasons
    score = min(1.0, sim * place.factor * t_factor)
    return DuplicateCandidate(
        old.key, score, sim, tuple(reasons), old.ticket, place.distance_m, gap
    )


# --------------------------------------------------------------------------- in memory


class DuplicateIndex:
    """Near-duplicates among many reports without a database (an imported history, a stream).

    Exact for the text part thanks to prefix filtering: shingles are ordered rarest first, and
    each report is indexed under the shortest prefix of that order whose remaining weight is
    below ``t × its total`` (``t`` the lowest similarity that can still reach the threshold).
    Two texts with weighted Jaccard ≥ t share their first common shingle in both prefixes, so
    only reports sharing a prefix shingle are compared. Rare shingles have short lists.

    Add reports in time order: now and then the index forgets reports more than two windows
    older than the latest one, so memory stays bounded in a stream, and a report arriving up to
    one window late is still compared with everything it should be.
    """

    def __init__(
        self,
        stats: ShingleStats = NO_CORPUS,
        *,
        window: timedelta | None = WINDOW,
        threshold: float = THRESHOLD,
        with_places: bool = True,
    ):
        self.stats = stats
        self.window = window
        self.threshold = threshold
        # The text similarity needed for the best place evidence to lift a pair over threshold;
        # an index of texts without places (replies) needs the threshold itself, a shorter prefix.
        self._min_sim = threshold / PLACE_MAX if with_places else threshold
        self._reports: dict[int, Report] = {}
        self._next = 0
        self._floor = 0
        self._postings: dict[str, list[int]] = {}
        self._order: dict[Hashable, int] = {}
        self._latest: datetime | None = None
        self.pairs: list[tuple[Hashable, Hashable, DuplicateCandidate]] = []

    def __len__(self) -> int:
        """Reports indexed so far (including those since forgotten)."""
        return self._next

    def report(
        self,
        key: Hashable,
        text: str | frozenset[str],
        *,
        received_at: datetime | None = None,
        place: Place | None = None,
        ticket: str | None = None,
    ) -> Report:
        """A report to add or query; ``text`` may be given already shingled (a caller that
        fitted the statistics on the same texts need not shingle them twice)."""
        items = shingles(text) if isinstance(text, str) else text
        weighted = Weighted.from_shingles(items, self.stats)
        return Report(key, weighted, received_at, place or Place(), ticket)

    def _prefix(self, text: Weighted) -> list[str]:
        """The rarest shingles of ``text`` until what is left weighs less than ``t × total``.
        Shingles tied with the last one are all kept: a superset of the exact prefix under any
        tie order, so no pair is missed, and no per-text sort of (weight, shingle) pairs."""
        needed = text.total * (1.0 - self._min_sim)
        cut, running = 0.0, 0.0
        for weight in sorted(text.weights.values(), reverse=True):
            cut = weight
            running += weight
            if running > needed:
                break
        return [s for s, w in text.weights.items() if w >= cut]

    def query(self, new: Report, limit: int | None = None) -> list[DuplicateCandidate]:
        """Indexed reports that duplicate ``new``, best first (``new`` is not indexed)."""
        candidates: set[int] = set()
        postings = self._postings
        for shingle in self._prefix(new.text):
            posting = postings.get(shingle)
            if posting:
                candidates.update(posting)
        found = self._verify(new, candidates)
        return found[:limit] if limit is not None else found

    def _verify(self, new: Report, candidates: set[int]) -> list[DuplicateCandidate]:
        floor = self._window_floor()
        found: list[DuplicateCandidate] = []
        for i in candidates:
            if i >= floor and i in self._reports:
                found.extend(self._compare(new, self._reports[i]))
        found.sort(key=lambda c: -c.score)
        return found

    def _window_floor(self) -> int:
        """First position still within two windows of the latest report: positions grow with
        time when reports come in time order, so older ones are skipped without a look."""
        if self.window is None or self._latest is None:
            return 0
        horizon = self._latest - 2 * self.window
        while self._floor < self._next:
            old = self._reports.get(self._floor)
            if old is not None and not _older(old, horizon):
                break
            self._floor += 1
        return self._floor

    def _compare(self, new: Report, old: Report) -> list[DuplicateCandidate]:
        """Cheap checks first (window, lengths), the similarity only for what passes."""
        if old.key == new.key:
            return []
        if self.window is not None and _apart(new, old, self.window):
            return []
        # Jaccard ≥ t needs the smaller total to be at least t × the larger one.
        small, large = sorted((new.text.total, old.text.total))
        if small < self._min_sim * large:
            return []
        sim = similarity(new.text, old.text)
        if sim < self._min_sim:
            return []
        hit = score_pair(new, old, window=self.window or timedelta.max, text_sim=sim)
        return [hit] if hit is not None and hit.score >= self.threshold else []

    def add(self, report: Report) -> list[DuplicateCandidate]:
        """Index ``report``; returns the earlier-added reports it duplicates (pairs are kept)."""
        if report.received_at is not None and (
            self._latest is None or report.received_at > self._latest
        ):
            self._latest = report.received_at
        position = self._next
        self._next += 1
        self._reports[position] = report
        # One pass over the prefix both gathers the candidates and indexes the report; lists
        # are cut at the window's floor on the way (positions in a list only grow).
        floor = self._window_floor()
        candidates: set[int] = set()
        postings = self._postings
        for shingle in self._prefix(report.text):
            posting = postings.get(shingle)
            if posting is None:
                postings[shingle] = [position]
                continue
            if posting[0] < floor:
                del posting[: bisect_left(posting, floor)]
            candidates.update(posting)
            posting.append(position)
        hits = self._verify(report, candidates)
        self._order.setdefault(report.key, position)
        self.pairs.extend((report.key, h.key, h) for h in hits)
        if self.window is not None and self._latest is not None and position % FORGET_EVERY == 0:
            self.forget_before(self._latest - 2 * self.window)
        return hits

    def forget_before(self, horizon: datetime) -> int:
        """Drop reports received before ``horizon`` (their pairs and clusters stay known);
        returns how many. Called now and then by ``add`` so a stream's memory stays bounded."""
        old = {i for i, r in self._reports.items() if _older(r, horizon)}
        if not old:
            return 0
        for i in old:
            del self._reports[i]
        for shingle in list(self._postings):
            kept = [i for i in self._postings[shingle] if i not in old]
            if kept:
                self._postings[shingle] = kept
            else:
                del self._postings[shingle]
        return len(old)

    def clusters(self) -> list[list[Hashable]]:
        """Groups of reports linked by duplicate pairs (single link), largest first; members
        in the order they were added. Reports without a duplicate are not listed."""
        parent: dict[Hashable, Hashable] = {}

        def root(key: Hashable) -> Hashable:
            parent.setdefault(key, key)
            while parent[key] != key:
                parent[key] = parent[parent[key]]  # halve the path: keeps chains short
                key = parent[key]
            return key

        for a, b, _ in self.pairs:
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[rb] = ra
        groups: dict[Hashable, list[Hashable]] = {}
        for key in list(parent):
            groups.setdefault(root(key), []).append(key)
        order = self._order
        out = [sorted(g, key=order.__getitem__) for g in groups.values()]
        out.sort(key=lambda g: (-len(g), order[g[0]]))
        return out


def _older(report: Report, horizon: datetime) -> bool:
    return report.received_at is not None and report.received_at < horizon


def _apart(a: Report, b: Report, window: timedelta) -> bool:
    if a.received_at is None or b.received_at is None:
        return False
    return abs(a.received_at - b.received_at) > window


def fit_stats(texts: Iterable[str]) -> ShingleStats:
    return ShingleStats.fit(shingles(t) for t in texts)


# --------------------------------------------------------------------------- database

# IDF of the city's own recent requests; a fresh or small installation uses the built-in list.
STATS_SAMPLE = 5000
STATS_MIN_DOCS = 500
_stats_cache: PerDatabase[ShingleStats] = PerDatabase(ttl_seconds=3600.0)


def forget() -> None:
    _stats_cache.clear()


def _build_stats(session: Session) -> ShingleStats:
    rows = session.execute(
        select(ServiceRequest.title, ServiceRequest.text)
        .order_by(ServiceRequest.id.desc())
        .limit(STATS_SAMPLE)
    ).all()
    if len(rows) < STATS_MIN_DOCS:
        return NO_CORPUS
    return fit_stats(f"{title}\n{text}" for title, text in rows)


def corpus_stats(session: Session) -> ShingleStats:
    return _stats_cache.get(session, _build_stats)


def _place_filter(place: Place) -> ColumnElement[bool] | None:
    """Narrow to the same street (or district), else to a box around the point: both keep the
    candidate set small and use an index (areas.path, then service_requests.area_id)."""
    codes = place.codes()
    if len(codes) >= 2:
        prefix = "/".join(codes[: min(len(codes), STREET_DEPTH)]) + "/"
        areas = select(Area.id).where(Area.path.startswith(prefix, autoescape=True))
        return ServiceRequest.area_id.in_(areas)
    if place.has_point():
        assert place.lat is not None and place.lon is not None
        dlat = SEARCH_RADIUS_M / 111_320.0
        dlon = dlat / max(0.01, math.cos(math.radians(place.lat)))
        return (ServiceRequest.lat.between(place.lat - dlat, place.lat + dlat)) & (
            ServiceRequest.lon.between(place.lon - dlon, place.lon + dlon)
        )
    return None


def _candidates(
    session: Session,
    place: Place,
    received_at: datetime,
    window: timedelta,
    exclude_id: int | None,
    category_id: int | None,
    max_candidates: int,
) -> Sequence[Any]:
    """The most recent open requests of the window near ``place``, in two steps: first the ids
    (the index on status and time, no texts sorted), then the texts of those ids only. Sorting
    whole rows with their texts took 4× longer on SQLite."""
    ids = (
        select(ServiceRequest.id)
        .where(
            ServiceRequest.status.in_(CANDIDATE_STATUSES),
            ServiceRequest.received_at.between(received_at - window, received_at + window),
        )
        .order_by(ServiceRequest.received_at.desc())
        .limit(max_candidates)
    )
    narrow = _place_filter(place)
    if narrow is not None:
        ids = ids.where(narrow)
    if exclude_id is not None:
        ids = ids.where(ServiceRequest.id != exclude_id)
    if category_id is not None:
        ids = ids.where(ServiceRequest.category_id == category_id)
    rows = select(
        ServiceRequest.id,
        ServiceRequest.ticket,
        ServiceRequest.title,
        ServiceRequest.text,
        ServiceRequest.received_at,
        ServiceRequest.lat,
        ServiceRequest.lon,
        Area.path,
    ).outerjoin(Area, Area.id == ServiceRequest.area_id)
    return session.execute(rows.where(ServiceRequest.id.in_(ids.scalar_subquery()))).all()


def _area_names(session: Session, place: Place) -> dict[str, str]:
    """Names of the new request's street and community: the only areas a reason can name,
    since a shared area is always on the new request's own path."""
    codes = place.codes()[STREET_DEPTH - 1 : COMMUNITY_DEPTH]
    if not codes:
        return {}
    rows = session.execute(select(Area.code, Area.name).where(Area.code.in_(codes))).all()
    return {code: name for code, name in rows}


def find_duplicates(
    session: Session,
    *,
    text: str,
    area_path: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    received_at: datetime,
    exclude_id: int | None = None,
    limit: int = 5,
    window: timedelta = WINDOW,
    threshold: float = THRESHOLD,
    category_id: int | None = None,
    max_candidates: int = MAX_CANDIDATES,
) -> list[DuplicateCandidate]:
    """Open requests that probably report the same problem as ``text``, best first.

    ``text`` should be the title and text joined, as stored. ``category_id`` narrows further
    when the category is known for sure (a confirmed one; a guessed category may be wrong)."""
    stats = corpus_stats(session)
    place = Place(area_path, lat, lon)
    new = Report(None, Weighted.of(text, stats), received_at, place)
    rows = _candidates(session, place, received_at, window, exclude_id, category_id, max_candidates)
    if not rows:
        return []
    names = _area_names(session, place)
    hits = [
        hit
        for row in rows
        if (hit := _score_row(new, row, stats, window, threshold, names)) is not None
    ]
    # Equal scores: the earliest report first, it is the one to merge into.
    hits.sort(key=lambda c: (-c.score, c.gap_seconds or 0.0))
    return hits[:limit]


def _score_row(
    new: Report,
    row: Any,
    stats: ShingleStats,
    window: timedelta,
    threshold: float,
    names: Mapping[str, str],
) -> DuplicateCandidate | None:
    """Place and time first, then a cheap bound on the text, and only then the full shingling.

    Jaccard similarity is at most the share of the new text's weight found in the other text,
    and that share is counted with substring tests on the candidate's plain text. A candidate
    that cannot reach the threshold even so is dropped unshingled: with a corpus about 19 in 20
    candidates of the same street go this way, which keeps intake fast on a busy street."""
    place = Place(row.path, row.lat, row.lon)
    lift = compare_places(new.place, place).factor
    if new.received_at is not None and row.received_at is not None:
        lift *= time_factor(row.received_at - new.received_at, window)
    if lift <= 0 or lift < threshold:
        return None  # not even an identical text would do
    text = f"{row.title}\n{row.text}"
    if found_in(new.text, compact(text)) < threshold / lift:
        return None
    old = Report(row.id, Weighted.of(text, stats), row.received_at, place, row.ticket)
    hit = score_pair(new, old, window=window, names=names)
    return hit if hit is not None and hit.score >= threshold else None


# --------------------------------------------------------------------------- heat


def heat(session: Session, request_id: int) -> int:
    """Callers behind a request, recounted from the merge tree: 1 + every request merged into
    it, directly or through a request that was merged itself. The stored ``heat`` column is
    kept up to date by the merge action (target.heat += request.heat); this recount is the
    truth to check it against, or to repair it after a bulk change."""
    total, frontier = 1, [request_id]
    seen = {request_id}
    while frontier:
        children = session.scalars(
            select(ServiceRequest.id).where(ServiceRequest.duplicate_of_id.in_(frontier))
        ).all()
        frontier = [c for c in children if c not in seen]
        seen.update(frontier)
        total += len(frontier)
    return total
