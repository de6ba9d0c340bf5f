"""Near-duplicate requests: shingles, place and time evidence, the in-memory index, the
database search over open requests, heat, and the ``duplicates`` command."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from jiesu.city.pack import AreaRow
from jiesu.city.service import apply_pack
from jiesu.kit.clock import FixedClock
from jiesu.nlp import duplicates as dup
from jiesu.nlp.cli_duplicates import app
from jiesu.nlp.duplicates import (
    THRESHOLD,
    DuplicateIndex,
    Place,
    Report,
    compare_places,
    describe_gap,
    find_duplicates,
    heat,
    score_pair,
)
from jiesu.nlp.shingles import NO_CORPUS, ShingleStats, Weighted, shingles, similarity
from jiesu.workflow.service import apply_action

from factories import city_pack, make_request, make_world

# Two neighbours report the same broken light in their own words; a third complaint is about
# something else in the same community; the fourth is the first text moved to the next estate.
LIGHT_A = (
    "望京西园三区12号楼东侧路灯坏了一个多星期，晚上漆黑一片，老人孩子出行很不安全，希望尽快维修。"
)
LIGHT_B = (
    "望京西园三区12号楼旁边的路灯坏了好几天了，晚上漆黑一片特别不安全，"
    "老人出门摔过一次，请尽快派人维修。"
)
NOISE = "望京西园三区底商烧烤店每天营业到凌晨两点，油烟和噪音扰民，楼上住户无法开窗睡觉。"
LIGHT_OTHER = (
    "望京西园四区8号楼东侧路灯坏了一个多星期，晚上漆黑一片，老人孩子出行很不安全，希望尽快维修。"
)

STREET = "110000/110101/110101001/"
COMMUNITY_3 = STREET + "110101001001/"
COMMUNITY_4 = STREET + "110101001002/"
NAMES = {"110101001": "东华门街道", "110101001001": "望京西园三区", "110101001002": "望京西园四区"}
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def report(key: str, text: str, at: datetime = T0, **place: Any) -> Report:
    return Report(key, Weighted.of(text), at, Place(**place))


# --------------------------------------------------------------------------- pure


def test_shingles_ignore_punctuation_and_spacing() -> None:
    assert shingles("路灯 坏了！") == shingles("路灯坏了")
    # No shingle straddles a clause boundary.
    assert "了物" not in shingles("路灯坏了。物业不管")
    assert {"路灯", "路灯坏"} <= shingles("路灯坏了")


def test_boilerplate_weighs_nothing_without_a_corpus() -> None:
    assert NO_CORPUS.weight("路灯") == 1.0
    assert Weighted.of("您好，谢谢！领导").total == 0.0
    # A greeting added to a report does not make it any more like another greeting.
    assert similarity(Weighted.of("您好！路灯坏了"), Weighted.of("您好！暖气不热")) == 0.0


def test_stop_list_comes_from_document_frequency() -> None:
    topics = ["漏水", "停电", "噪音", "油烟", "井盖", "路灯", "垃圾", "停车", "暖气", "电梯"]
    docs = [shingles(f"您好，{topic}问题") for topic in topics for _ in range(20)]
    stats = ShingleStats.fit(docs)
    assert stats.is_stop("您好") and stats.is_stop("问题")  # in every text
    assert not stats.is_stop("漏水")  # in 20 of 200: 10 % is not more than MAX_DF
    assert 0 < stats.weight("漏水") < stats.weight("燃气")  # unseen weighs most
    assert set(stats.stop_list(2)) == {"您好", "问题"}
    # Twenty texts are too few to tell boilerplate from a problem many people report.
    assert ShingleStats.fit(docs[:20]) is NO_CORPUS


def test_reworded_report_is_more_similar_than_another_problem() -> None:
    a, b, noise = Weighted.of(LIGHT_A), Weighted.of(LIGHT_B), Weighted.of(NOISE)
    assert similarity(a, b) >= THRESHOLD
    assert similarity(a, noise) < 0.15
    assert similarity(a, a) == pytest.approx(1.0)


def test_same_community_lifts_the_score_and_names_it() -> None:
    hit = score_pair(
        report("b", LIGHT_B, T0 + timedelta(hours=5), area_path=COMMUNITY_3),
        report("a", LIGHT_A, T0, area_path=COMMUNITY_3),
        names=NAMES,
    )
    assert hit is not None and hit.score >= THRESHOLD
    assert hit.score > hit.text_similarity * 0.99
    assert "same community 望京西园三区" in hit.reasons
    assert hit.reasons[0].startswith("text ") and hit.reasons[0].endswith("% similar")
    assert hit.reasons[-1] == "5 h earlier"


def test_same_text_in_another_community_is_not_a_duplicate() -> None:
    hit = score_pair(
        report("x", LIGHT_A, area_path=COMMUNITY_4),
        report("a", LIGHT_A, area_path=COMMUNITY_3),
        names=NAMES,
    )
    assert hit is not None
    assert hit.text_similarity == pytest.approx(1.0)
    assert hit.score < THRESHOLD
    assert "other community of 东华门街道" in hit.reasons


def test_other_street_is_not_a_duplicate() -> None:
    match = compare_places(Place(STREET), Place("110000/110101/110101008/"))
    assert match.factor < THRESHOLD


def test_outside_the_window_is_no_candidate() -> None:
    new = report("b", LIGHT_A, T0)
    assert score_pair(new, report("a", LIGHT_A, T0 - timedelta(days=8))) is None
    assert score_pair(new, report("a", LIGHT_A, T0 - timedelta(days=6))) is not None
    wide = score_pair(new, report("a", LIGHT_A, T0 - timedelta(days=8)), window=timedelta(30))
    assert wide is not None and wide.reasons[-1] == "8 days earlier"


def test_distance_decides_when_both_have_coordinates() -> None:
    here = {"lat": 39.9960, "lon": 116.4700}
    near = {"lat": 39.9970, "lon": 116.4705}  # about 120 m north
    far = {"lat": 40.0250, "lon": 116.4700}  # about 3.2 km
    hit = score_pair(report("b", LIGHT_B, **here), report("a", LIGHT_A, **near))
    assert hit is not None and hit.score >= THRESHOLD
    assert hit.distance_m == pytest.approx(120, abs=15)
    assert "120 m apart" in hit.reasons
    miss = score_pair(report("b", LIGHT_B, **here), report("a", LIGHT_A, **far))
    assert miss is not None and miss.score < THRESHOLD
    assert "3.2 km apart" in miss.reasons


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(-120, "2 min earlier"), (3 * 3600, "3 h later"), (-86400, "1 day earlier"),
     (-2.4 * 86400, "2 days earlier")],
)  # fmt: skip
def test_gap_in_words(seconds: float, words: str) -> None:
    assert describe_gap(timedelta(seconds=seconds)) == words


# --------------------------------------------------------------------------- index


def test_index_clusters_reports_and_counts_heat() -> None:
    index = DuplicateIndex(window=timedelta(days=7))
    texts = [LIGHT_A, NOISE, LIGHT_B, LIGHT_A + "还是没人修。", "交道口南大街井盖丢失，很危险。"]
    for i, text in enumerate(texts):
        index.add(index.report(f"r{i}", text, received_at=T0 + timedelta(hours=i)))
    assert index.clusters() == [["r0", "r2", "r3"]]
    assert len(index) == 5


def test_index_respects_the_window() -> None:
    index = DuplicateIndex(window=timedelta(days=7))
    index.add(index.report("old", LIGHT_A, received_at=T0))
    hits = index.add(index.report("new", LIGHT_A, received_at=T0 + timedelta(days=9)))
    assert hits == [] and index.clusters() == []


VOCABULARY = """
路灯 漏水 井盖 噪音 停车 垃圾 暖气 电梯 施工 油烟
绿化 占道 违建 积水 拆迁 物业 供暖 停电 污水 树木
"""


def _brute_force(reports: list[Report], threshold: float) -> set[frozenset[str]]:
    pairs = set()
    for i, new in enumerate(reports):
        for old in reports[:i]:
            hit = score_pair(new, old)
            if hit is not None and hit.score >= threshold:
                pairs.add(frozenset((str(new.key), str(old.key))))
    return pairs


def test_prefix_filter_finds_exactly_what_comparing_all_pairs_finds() -> None:
    # Texts made of common and rare words (Zipf-like), so that many pairs share only common
    # ones: an index that looked at too few shingles per text would miss them.
    rng = random.Random(5)
    vocab = VOCABULARY.split()
    weights = [1 / (i + 1) for i in range(len(vocab))]
    texts = ["，".join(rng.choices(vocab, weights, k=rng.randint(3, 6))) for _ in range(300)]
    stats = ShingleStats.fit(shingles(t) for t in texts)
    assert stats.n_docs == 300  # weighted by rarity, not the built-in list
    index = DuplicateIndex(stats, window=None, threshold=0.5)
    reports = [index.report(f"r{i}", t) for i, t in enumerate(texts)]
    for r in reports:
        index.add(r)
    found = {frozenset((str(a), str(b))) for a, b, _ in index.pairs}
    assert found == _brute_force(reports, 0.5)
    assert len(found) > 500


# --------------------------------------------------------------------------- database


@pytest.fixture(autouse=True)
def _fresh_stats() -> Iterator[None]:
    # The IDF cache is per database URL; every test starts from a wiped database.
    dup.forget()
    yield
    dup.forget()


def _world_with_communities(session: Session, clock: FixedClock) -> Any:
    world = make_world(session, clock.now())
    pack = city_pack()
    pack.areas += [
        AreaRow("110101001001", "110101001", "community", "望京西园三区", [], None, None),
        AreaRow("110101001002", "110101001", "community", "望京西园四区", [], None, None),
    ]
    apply_pack(session, pack, now=clock.now())
    return world


def _submit(session: Session, world: Any, at: datetime, text: str, **fields: Any) -> Any:
    return make_request(session, world, at, text=text, received_at=at, **fields)


def _search(session: Session, req: Any, **kw: Any) -> list[dup.DuplicateCandidate]:
    return find_duplicates(
        session,
        text=f"{req.title}\n{req.text}",
        area_path=req.area.path if req.area else None,
        lat=req.lat,
        lon=req.lon,
        received_at=req.received_at,
        exclude_id=req.id,
        **kw,
    )


def test_db_finds_the_neighbours_report_in_the_same_community(
    session: Session, clock: FixedClock
) -> None:
    world = _world_with_communities(session, clock)
    first = _submit(session, world, clock.now() - timedelta(days=2), LIGHT_A, area="110101001001")
    _submit(session, world, clock.now() - timedelta(days=1), NOISE, area="110101001001")
    _submit(session, world, clock.now() - timedelta(days=1), LIGHT_A, area="110101008")
    new = _submit(session, world, clock.now(), LIGHT_B, area="110101001001")
    session.flush()
    hits = _search(session, new)
    assert [h.key for h in hits] == [first.id]
    assert hits[0].ticket == first.ticket
    assert "same community 望京西园三区" in hits[0].reasons
    assert hits[0].reasons[-1] == "2 days earlier"
    assert hits[0].as_dict()["ticket"] == first.ticket
    assert "text" not in hits[0].as_dict()  # no citizen text in event payloads


def test_db_other_community_and_old_reports_are_not_duplicates(
    session: Session, clock: FixedClock
) -> None:
    world = _world_with_communities(session, clock)
    _submit(session, world, clock.now() - timedelta(hours=3), LIGHT_A, area="110101001001")
    _submit(session, world, clock.now() - timedelta(days=9), LIGHT_OTHER, area="110101001002")
    new = _submit(session, world, clock.now(), LIGHT_OTHER, area="110101001002")
    assert _search(session, new) == []
    # With a longer window the old report of the same estate is found.
    longer = _search(session, new, window=timedelta(days=10))
    assert len(longer) == 1 and longer[0].reasons[-1] == "9 days earlier"


def test_db_merged_and_invalid_requests_are_not_offered(
    session: Session, clock: FixedClock
) -> None:
    world = _world_with_communities(session, clock)
    now = clock.now()
    original = _submit(session, world, now - timedelta(days=3), LIGHT_A, area="110101001001")
    merged = _submit(session, world, now - timedelta(days=2), LIGHT_A, area="110101001001")
    spam = _submit(session, world, now - timedelta(days=1), LIGHT_A, area="110101001001")
    apply_action(session, merged, "merge", actor=world.actor("disp"), now=now, ctx=world.ctx,
                 params={"into": original.ticket})  # fmt: skip
    for action, who, params in (
        ("mark_invalid", "op", {"reason": "重复骚扰"}),
        ("confirm_invalid", "sup", {}),
    ):
        apply_action(session, spam, action, actor=world.actor(who), now=now, ctx=world.ctx,
                     params=params)  # fmt: skip
    new = _submit(session, world, now, LIGHT_B, area="110101001001")
    assert [h.key for h in _search(session, new)] == [original.id]


def test_db_by_distance_without_areas(session: Session, clock: FixedClock) -> None:
    world = _world_with_communities(session, clock)
    now = clock.now()
    near = _submit(session, world, now - timedelta(hours=1), LIGHT_A, area=None,
                   lat=39.9970, lon=116.4705)  # fmt: skip
    _submit(session, world, now - timedelta(hours=1), LIGHT_A, area=None,
            lat=40.0250, lon=116.4700)  # fmt: skip
    new = _submit(session, world, now, LIGHT_B, area=None, lat=39.9960, lon=116.4700)
    hits = _search(session, new)
    assert [h.key for h in hits] == [near.id]
    assert hits[0].distance_m is not None and hits[0].distance_m < 150
    assert "120 m apart" in hits[0].reasons


def test_db_exclude_and_limit(session: Session, clock: FixedClock) -> None:
    world = _world_with_communities(session, clock)
    now = clock.now()
    reqs = [
        _submit(session, world, now - timedelta(hours=i), LIGHT_A, area="110101001001")
        for i in range(4)
    ]
    hits = _search(session, reqs[0], limit=2)
    assert len(hits) == 2 and reqs[0].id not in {h.key for h in hits}


def test_heat_follows_merges(session: Session, clock: FixedClock) -> None:
    world = _world_with_communities(session, clock)
    now = clock.now()
    a, b, c = (
        _submit(session, world, now - timedelta(hours=h), LIGHT_A, area="110101001001")
        for h in (3, 2, 1)
    )
    # c is merged into b, then b (carrying c) into a: a speaks for three callers.
    for request, target in ((c, b), (b, a)):
        apply_action(session, request, "merge", actor=world.actor("disp"), now=now,
                     ctx=world.ctx, params={"into": target.ticket})  # fmt: skip
    session.flush()
    # The stored column (kept by the merge action) agrees with the recount from the tree.
    assert (a.heat, b.heat, c.heat) == (3, 2, 1)
    assert (heat(session, a.id), heat(session, b.id), heat(session, c.id)) == (3, 2, 1)


# --------------------------------------------------------------------------- command

runner = CliRunner()


def _write(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    import csv

    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["编号", "主题", "详情", "时间"])
        writer.writerows(rows)
    return path


def _rows() -> list[list[str]]:
    return [
        ["1", "路灯坏了", LIGHT_A, "2019/6/1 9:00:00"],
        ["2", "烧烤扰民", NOISE, "2019/6/1 10:00:00"],
        ["3", "路灯还没修", LIGHT_B, "2019/6/2 8:30:00"],
        ["4", "路灯坏了", LIGHT_A, "2019-06-02 20:00:00"],
        ["5", "路灯坏了", LIGHT_A, "2019/7/20 9:00:00"],  # weeks later: a new occurrence
    ]


def test_cli_json_reports_clusters_and_heat(tmp_path: Path) -> None:
    path = _write(tmp_path / "msgs.csv", _rows())
    args = ["--data", str(path), "--text-col", "主题", "--text-col", "详情",
            "--time-col", "时间", "--key-col", "编号", "--json", "--pairs"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["n"] == 5 and doc["clusters"] == 1
    assert doc["largest"][0]["heat"] == 3 and doc["largest"][0]["keys"] == ["1", "3", "4"]
    assert doc["merge_candidates"] == 2
    assert all(p["score"] >= THRESHOLD for p in doc["pair_list"])
    assert "read 5 rows" in result.stderr


def test_cli_text_output_without_time(tmp_path: Path) -> None:
    path = _write(tmp_path / "msgs.csv", _rows())
    result = runner.invoke(app, ["--data", str(path), "--text-col", "详情"])
    assert result.exit_code == 0, result.output
    # Without a time column every report is compared with every other: row 5 joins too.
    assert "heat 4" in result.stdout and "any time apart" in result.stdout


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("missing", ["--text-col", "详情"], "does not exist"),
        ("ok", ["--text-col", "内容"], "no column 内容"),
        ("ok", ["--text-col", "详情", "--time-col", "日期"], "no column 日期"),
        ("gbk", ["--text-col", "详情", "--encoding", "utf-8"], "give --encoding"),
        ("ok", ["--text-col", "详情", "--encoding", "klingon"], "unknown encoding"),
        ("header", ["--text-col", "详情"], "has no rows"),
        ("badtime", ["--text-col", "详情", "--time-col", "时间"], "no row has a readable time"),
        ("ok", ["--text-col", "详情", "--threshold", "0"], None),
    ],
)
def test_cli_bad_input_exits_without_traceback(
    tmp_path: Path, setup: str, args: list[str], message: str | None
) -> None:
    path = tmp_path / "msgs.csv"
    if setup == "ok":
        _write(path, _rows())
    elif setup == "gbk":
        _write(path, _rows(), encoding="gb18030")
    elif setup == "header":
        _write(path, [])
    elif setup == "badtime":
        _write(path, [[r[0], r[1], r[2], "昨天"] for r in _rows()])
    result = runner.invoke(app, ["--data", str(path), *args])
    assert "Traceback" not in result.output
    if message is None:  # a usage error: typer's own message, exit 2
        assert result.exit_code == 2
        return
    assert result.exit_code == 1, result.output
    assert "error: " in result.stderr and message in result.stderr
