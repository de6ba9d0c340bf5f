"""Whatever a dispatch catalogue holds (YAML from a pack, the admin desk or `jiesu dispatch
rules import`, JSON from the API), reading it gives a catalogue or the list of its problems,
each naming where: never an exception the loader did not foresee. A catalogue that reads
reads again from what it stores, to the same digest. Property-based over rule-like data."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from jiesu.city.service import apply_pack
from jiesu.dispatch.catalogue import MATCH_KEYS, RULE_KEYS, CatalogueError, read_catalogue
from jiesu.dispatch.directory import build_directory
from jiesu.kit.clock import FixedClock

from factories import city_pack

anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=3)
    ),
    max_leaves=8,
)
units = st.sampled_from(["PS-WATER", "CB-CGW", "东华门街道办事处", "ST-NOWHERE", "", " "])
roles = st.fixed_dictionaries(
    {"role": st.sampled_from(["street_office", "city_bureau", "district_government", "mayor"])},
    optional={"handles": st.sampled_from(["request", "010102", "01", "99"]) | anything},
)
targets = units | roles | anything
codes = st.sampled_from(["01", "0101", "010101", "010102", "停水", "110101", "东华门街道", "x"])
windows = st.sampled_from(["08:00-18:00", "22:00-06:00", "24:00-01:00", "9-5", "00:00-00:00"])
match = st.fixed_dictionaries(
    {},
    optional={
        "categories": st.lists(codes, max_size=2) | codes | anything,
        "areas": st.lists(codes, max_size=2) | codes | anything,
        "keywords": st.lists(st.text(max_size=6), max_size=3) | anything,
        "urgency": st.lists(st.sampled_from(["general", "emergency", "soon"])) | anything,
        "channels": st.lists(st.sampled_from(["phone", "web", "fax"])) | anything,
        "hours": st.lists(windows | st.text(max_size=11), max_size=2) | anything,
        "weather": anything,
    },
)
rules = st.fixed_dictionaries(
    {"id": st.text(max_size=6) | st.integers() | anything},
    optional={
        "match": match | anything,
        "lead": targets,
        "assisting": st.lists(targets, max_size=2) | targets,
        "deadlines": st.dictionaries(
            st.sampled_from(["response", "handling", "never"]) | st.integers(),
            st.sampled_from(["1h", "3wd", "0d", "99999999999999999999d", "soon"]) | anything,
        )
        | anything,
        "mode": st.sampled_from(["direct", "two_level", "loud"]) | anything,
        "priority": st.integers() | anything,
        "balance": anything,
        "name": anything,
        7: anything,
    },
)
catalogues = st.fixed_dictionaries(
    {},
    optional={
        "settings": st.fixed_dictionaries(
            {},
            optional={
                "auto_dispatch": anything,
                "min_confidence": st.floats() | anything,
                "return_window": st.sampled_from(["24h", "3wd", "x"]) | anything,
                "colour": anything,
                1: anything,
            },
        )
        | anything,
        "rules": st.lists(rules, max_size=4) | anything,
        "extra": anything,
        2: anything,
    },
)
# Rules that are mostly right, so that catalogues which read (and their round trip) are met
# as often as broken ones: known codes and units, distinct ids and priorities.
good_codes = st.sampled_from(["01", "0101", "010101", "010102", "停水"])
good_rules = st.lists(
    st.fixed_dictionaries(
        {"lead": st.sampled_from(["PS-WATER", "CB-CGW", "美团"]) | roles},
        optional={
            "match": st.fixed_dictionaries(
                {},
                optional={
                    "categories": st.lists(good_codes, max_size=2, unique=True),
                    "areas": st.lists(st.sampled_from(["110101", "东华门街道"]), max_size=1),
                    "keywords": st.lists(st.text(min_size=1, max_size=4), max_size=2),
                    "hours": st.lists(windows, max_size=1),
                },
            ),
            "assisting": st.lists(st.sampled_from(["CB-CGW", "PS-WATER"]), max_size=1),
            "deadlines": st.fixed_dictionaries({}, optional={"handling": st.just("3wd")}),
            "mode": st.sampled_from(["direct", "two_level"]),
        },
    ),
    max_size=4,
).map(lambda rs: {"rules": [{**r, "id": f"r{i}", "priority": i} for i, r in enumerate(rs)]})
WHERE = ("settings", "rules", "rule ", "the catalogue")


def test_any_catalogue_reads_or_lists_its_problems(session: Session, clock: FixedClock) -> None:
    apply_pack(session, city_pack(), now=clock.now())
    d = build_directory(session)

    @given(good_rules | catalogues | anything)
    @example({"rules": [{"id": "a", 1: "x", "lead": "CB-CGW"}]})  # YAML: a key that is a number
    @example({"rules": [{"id": "a", "match": {1: "x", "areas": []}, "lead": "CB-CGW"}]})
    @example({"settings": {1: True, "auto_dispatch": True}, 2: "x"})
    @settings(
        max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    def read(raw: Any) -> None:
        try:
            catalogue = read_catalogue(raw, d)
        except CatalogueError as exc:
            assert exc.problems
            sections = tuple(str(k) or "''" for k in raw) if isinstance(raw, dict) else ()
            for problem in exc.problems:
                assert isinstance(problem, str) and problem.startswith(WHERE + sections), problem
            return
        for rule in catalogue.rules:
            assert rule.id and set(rule.to_data()) <= RULE_KEYS
            assert set(rule.to_data()["match"]) <= set(MATCH_KEYS)
        again = read_catalogue(catalogue.to_data(), d)
        assert again.digest() == catalogue.digest()

    read()
