"""Small-cell suppression, attacked: what a reader of the published counts can work out.

The attacker (tests/suppressionkit.py) is independent of the module: integer programs over
everything a reader knows, for the least and greatest value each hidden item can have.
"""

from __future__ import annotations

from itertools import product

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiesu.privacy.suppression import AUDIT_LIMIT, Relation, _Suppressor, suppress
from suppressionkit import attack, pinned

Cube = tuple[list[int], list[Relation], list[str], list[int]]


def cube(cells: dict[tuple[int, int, int], int]) -> Cube:
    """Items, relations, names and floors of a places × categories × channels table with its
    margins per place, per category, per channel and the total — the shape open data
    publishes."""
    counts: list[int] = []
    names: list[str] = []
    index: dict[tuple[str, object], int] = {}

    def item(kind: str, key: object, n: int) -> int:
        if (kind, key) not in index:
            index[(kind, key)] = len(counts)
            counts.append(0)
            names.append(f"{kind}{key}")
        i = index[(kind, key)]
        counts[i] += n
        return i

    parts: dict[int, list[int]] = {}
    margins: dict[str, list[int]] = {"place": [], "cat": [], "ch": []}
    total = item("total", (), 0)
    for (p, c, h), n in cells.items():
        cell = item("cell", (p, c, h), n)
        for kind, key in (("place", p), ("cat", c), ("ch", h)):
            m = item(kind, key, n)
            parts.setdefault(m, []).append(cell)
            if m not in margins[kind]:
                margins[kind].append(m)
        counts[total] += n
    relations = [Relation(m, tuple(ps)) for m, ps in parts.items()]
    relations += [Relation(total, tuple(ms)) for ms in margins.values()]
    floors = [1] * len(counts)
    for m, ps in parts.items():
        floors[m] = len(ps)
    floors[total] = len(cells)
    return counts, relations, names, floors


def check(
    counts: list[int], relations: list[Relation], min_cell: int, floors: list[int] | None = None
) -> set[int]:
    result = suppress(counts, relations, min_cell=min_cell, floors=floors)
    assert result.audited
    hidden = set(result.hidden)
    assert {i for i, n in enumerate(counts) if n < min_cell} <= hidden
    for rel in relations:
        hidden_parts = [p for p in rel.parts if p in hidden]
        if rel.total in hidden:
            assert hidden_parts or not rel.parts, "a hidden total is the sum of its shown parts"
        elif hidden_parts:
            s = sum(counts[p] for p in hidden_parts)
            least = sum(floors[p] if floors else 1 for p in hidden_parts)
            assert len(hidden_parts) >= 2 and s >= min_cell and s > least
    for i, (low, high) in attack(counts, relations, hidden, floors).items():
        assert low < high, f"item {i} ({counts[i]}) is pinned to {low}"
    return hidden


def test_a_small_cell_takes_others_with_it_along_every_total() -> None:
    counts, relations, names, floors = cube(
        {(0, 0, 0): 3, (0, 1, 0): 25, (1, 0, 0): 30, (1, 1, 0): 40, (0, 0, 1): 20}
    )
    hidden = check(counts, relations, 10, floors)
    assert names.index("cell(0, 0, 0)") in hidden
    assert len(hidden) > 1
    # Published rows keep their exact counts: nothing is perturbed.
    assert all(counts[i] >= 10 for i in set(range(len(counts))) - hidden)


def test_a_table_without_small_cells_hides_nothing() -> None:
    table = {(p, c, 0): 10 + p + c for p, c in product(range(3), range(3))}
    counts, relations, _, floors = cube(table)
    assert suppress(counts, relations, min_cell=10, floors=floors).hidden == frozenset()


def test_a_total_with_a_single_part_hides_with_it() -> None:
    # One district with one cell: the cell equals the district's total.
    counts, relations, names, floors = cube({(0, 0, 0): 4, (1, 0, 0): 50, (1, 1, 0): 60})
    hidden = check(counts, relations, 10, floors)
    assert {names.index("cell(0, 0, 0)"), names.index("place0")} <= hidden


def test_hidden_ones_are_not_given_away_by_their_sum() -> None:
    # Two hidden cells of one request each would sum to 2: each known to be 1.
    counts = [12, 1, 1, 10]
    relations = [Relation(0, (1, 2, 3))]
    hidden = suppress(counts, relations, min_cell=2).hidden
    assert hidden == {1, 2, 3}


# Found by search: every total's own rule holds, yet a combination of totals (cell (3,1,1) =
# place 3 - cell (3,2,1); cell (3,2,1) from category 2 …) gives one hidden cell back.
BRIDGED = {
    (1, 2, 1): 38, (3, 2, 1): 5, (1, 0, 0): 46, (2, 1, 0): 4, (1, 2, 0): 2,
    (0, 0, 1): 22, (3, 1, 1): 4, (2, 0, 0): 30, (0, 2, 0): 9, (2, 1, 1): 58,
}  # fmt: skip


def test_combinations_of_totals_are_closed_too() -> None:
    counts, relations, names, floors = cube(BRIDGED)
    local = _Suppressor(counts, relations, 10, floors, AUDIT_LIMIT)
    local._local(list(range(len(relations))))  # the per-total rules alone
    assert names.index("cell(3, 1, 1)") in pinned(counts, relations, local.hidden, floors)
    check(counts, relations, 10, floors)  # the whole of suppress(): nothing pinned


def test_min_cell_must_be_positive() -> None:
    with pytest.raises(ValueError, match="min_cell"):
        suppress([1], [], min_cell=0)


tables = st.dictionaries(
    st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 1)),
    st.one_of(st.integers(1, 9), st.integers(10, 60)),
    min_size=1,
    max_size=16,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables, st.sampled_from([3, 5, 10]))
def test_no_hidden_count_can_be_pinned_down(
    cells: dict[tuple[int, int, int], int], min_cell: int
) -> None:
    counts, relations, _, floors = cube(cells)
    check(counts, relations, min_cell, floors)


def test_beyond_the_audit_limit_step_four_is_skipped_and_said_so() -> None:
    counts, relations, _, floors = cube(BRIDGED)
    assert not suppress(counts, relations, min_cell=10, floors=floors, audit_limit=0).audited
