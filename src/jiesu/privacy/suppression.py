"""Small-cell suppression of a table of counts and the totals published beside it.

A published table is a set of items (counts) tied by relations: each published total is the
sum of its parts (a district's month is the sum of its category × channel cells; the city's
month is the sum of its districts …). Hiding a small count is not enough when a total and the
other parts are published: subtraction gives it back. A reader also knows a floor for every
listed item — a listed cell holds at least one request, a total at least as many as the cells
listed under it. :func:`suppress` hides, in this order:

1. **primary**: every item with fewer than ``min_cell`` requests;
2. **complementary, per relation**: in every relation whose total is published, the hidden
   parts are none, or at least two that together hold at least ``min_cell`` requests and at
   least one more than their floors (two hidden cells summing to two would each be known to
   be one). The smallest published parts are hidden until that holds (the total itself when
   no part is left). A hidden total with every part published would be their sum, so one
   part is hidden with it;
3. **complementary, all relations together (exact values)**: no hidden item may follow from
   the published ones by any combination of the relations (the city's total less the other
   districts less the district's published cells …). An item is determined exactly when its
   unit vector lies in the row space of the relations restricted to the hidden items: one
   singular value decomposition;
4. **complementary, all relations together (whole numbers and floors)**: no hidden item may
   be pinned to one value by a reader who also uses that counts are whole numbers above their
   floors — for each item there must be a whole-number solution of everything published in
   which it is smaller, or one in which it is larger. Most items are answered by an exchange
   of one request among four hidden items that keeps every sum (two cells swapping a
   category); the rest by a linear program, then an integer program where the relaxation is
   not whole (HiGHS through scipy). It runs only while at most ``audit_limit`` items are
   hidden (:attr:`Suppression.audited` says whether it ran): a street-level month of a
   megacity hides tens of thousands of cells.

While step 3 or 4 finds an item, the smallest published item sharing a relation with it is
hidden too and steps 2–4 run again (hiding more never makes an item easier to work out).

What is *not* guaranteed: a reader may still narrow a hidden item to a range of as few as two
values. Relations the caller does not declare — another table
published elsewhere, an export of overlapping periods — are not considered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

# Singular values below this (relative to the largest) are zero: the matrices hold 0 and ±1.
_RANK_TOL = 1e-9
_DETERMINED = 1.0 - 1e-6
# Step 4 may ask two programs per hidden item: beyond this many hidden items it is skipped.
AUDIT_LIMIT = 1500
# An integer program that takes longer than this is taken as "no solution": the item is
# hidden more, never published on a guess.
_MILP_SECONDS = 5.0
# Exchanges tried per pair of items before the programs are asked.
_SWAP_TRIES = 20


def _minus(
    a: tuple[tuple[int, int], ...], b: tuple[tuple[int, int], ...]
) -> tuple[tuple[int, int], ...]:
    out = dict(a)
    for r, n in b:
        out[r] = out.get(r, 0) - n
    return tuple(sorted((r, n) for r, n in out.items() if n))


@dataclass(frozen=True)
class Relation:
    """``counts[total] == sum(counts[p] for p in parts)``, as a reader of the files knows."""

    total: int
    parts: tuple[int, ...]


@dataclass(frozen=True)
class Suppression:
    hidden: frozenset[int]
    primary: frozenset[int]
    audited: bool  # step 4 ran (the hidden items were few enough)

    @property
    def complementary(self) -> frozenset[int]:
        return self.hidden - self.primary


def suppress(
    counts: Sequence[int],
    relations: Sequence[Relation],
    *,
    min_cell: int,
    floors: Sequence[int] | None = None,
    audit_limit: int = AUDIT_LIMIT,
) -> Suppression:
    """The items to hide (indices into ``counts``); see the module docstring for the rules.
    ``floors`` are the least values a reader knows each item has (default 1: it is listed)."""
    if min_cell < 1:
        raise ValueError("min_cell must be at least 1")
    s = _Suppressor(counts, relations, min_cell, floors or [1] * len(counts), audit_limit)
    s.run()
    return Suppression(frozenset(s.hidden), s.primary, s.audited)


class _Suppressor:
    def __init__(
        self,
        counts: Sequence[int],
        relations: Sequence[Relation],
        min_cell: int,
        floors: Sequence[int],
        audit_limit: int,
    ):
        self.counts = list(counts)
        self.floors = list(floors)
        self.audit_limit = audit_limit
        self.audited = False
        self.relations = list(relations)
        self.min_cell = min_cell
        self.primary = frozenset(i for i, c in enumerate(self.counts) if c < min_cell)
        self.hidden: set[int] = set(self.primary)
        # Relations each item takes part in (as a part or as the total).
        self.member: list[list[int]] = [[] for _ in self.counts]
        for r, rel in enumerate(self.relations):
            self.member[rel.total].append(r)
            for p in rel.parts:
                self.member[p].append(r)

    def _order(self, i: int) -> tuple[int, int]:
        return (self.counts[i], i)

    def _hide(self, i: int, todo: list[int]) -> None:
        self.hidden.add(i)
        todo.extend(self.member[i])

    def _safe(self, hidden_parts: list[int]) -> bool:
        if not hidden_parts:
            return True
        total = sum(self.counts[p] for p in hidden_parts)
        room = total - sum(self.floors[p] for p in hidden_parts)
        return len(hidden_parts) >= 2 and total >= self.min_cell and room >= 1

    def _local(self, todo: list[int]) -> None:
        """Step 2 until every relation holds."""
        while todo:
            rel = self.relations[todo.pop()]
            hidden_parts = [p for p in rel.parts if p in self.hidden]
            if rel.total in self.hidden:
                if not hidden_parts and rel.parts:
                    self._hide(min(rel.parts, key=self._order), todo)
                continue
            while not self._safe(hidden_parts):
                free = [p for p in rel.parts if p not in self.hidden]
                if not free:
                    self._hide(rel.total, todo)
                    break
                pick = min(free, key=self._order)
                self._hide(pick, todo)
                hidden_parts.append(pick)

    def _system(self) -> tuple[list[int], np.ndarray, np.ndarray]:
        """The relations as equations in the hidden items: ``a @ x == b``, ``b`` from what is
        published (``Σ hidden parts − hidden total = published total − Σ published parts``)."""
        cols = sorted(self.hidden)
        where = {item: j for j, item in enumerate(cols)}
        rows, rhs = [], []
        for rel in self.relations:
            row = np.zeros(len(cols))
            known = 0 if rel.total in where else self.counts[rel.total]
            if rel.total in where:
                row[where[rel.total]] = -1.0
            for p in rel.parts:
                if p in where:
                    row[where[p]] += 1.0
                else:
                    known -= self.counts[p]
            if row.any():
                rows.append(row)
                rhs.append(known)
        return cols, np.array(rows).reshape(len(rows), len(cols)), np.array(rhs, dtype=float)

    def determined(self) -> list[int]:
        """Hidden items whose value follows from the published ones (step 3)."""
        cols, a, _ = self._system()
        if not len(a):
            return []
        _, sv, vt = np.linalg.svd(a, full_matrices=False)
        rank = int((sv > _RANK_TOL * max(1.0, float(sv[0]))).sum())
        reach = (vt[:rank] ** 2).sum(axis=0)  # |projection of e_j onto the row space|²
        return [cols[j] for j in range(len(cols)) if reach[j] > _DETERMINED]

    def narrowed(self) -> list[int]:
        """Hidden items a reader can pin to one value (step 4): for each, is there a whole
        number solution of the equations, above the floors, where it is smaller than it is,
        and one where it is larger? Each solution found answers for every item it moves."""
        cols, a, b = self._system()
        if not len(a):
            return []
        values = np.array([float(self.counts[i]) for i in cols])
        floors = np.array([float(self.floors[i]) for i in cols])
        lower_seen = np.zeros(len(cols), dtype=bool)  # a solution with it smaller exists
        upper_seen = np.zeros(len(cols), dtype=bool)
        for j, (down, up) in enumerate(self._swaps(cols)):
            lower_seen[j], upper_seen[j] = down, up
        out = []
        for j, item in enumerate(cols):
            sides = []
            for sign, seen in ((1.0, lower_seen), (-1.0, upper_seen)):
                if seen[j]:
                    sides.append(True)
                    continue
                found = self._solve(j, sign, a, b, floors, values)
                if isinstance(found, np.ndarray):
                    lower_seen |= found < values - 0.5
                    upper_seen |= found > values + 0.5
                sides.append(found is not None)
            if not any(sides):
                out.append(item)
        return out

    def _swaps(self, cols: list[int]) -> list[tuple[bool, bool]]:
        """The cheap answer first: exchanges of one request among four hidden items that
        leave every relation's sum as it is (two lose one, two gain one — in a table, two
        cells swap a category). Per item: whether such an exchange makes it smaller, larger.

        Items are vectors of their relations (+1 as a part, −1 as the total); j, k, m, n
        form an exchange when m − j = k − n, and the pairs of an exchange share a relation,
        so only pairs within one relation are indexed by their difference."""
        hidden = set(cols)
        sig = {i: self._signature(i) for i in cols}
        by_diff: dict[tuple[tuple[int, int], ...], list[tuple[int, int]]] = {}
        pairs = []
        for rel in self.relations:
            inside = [i for i in (rel.total, *rel.parts) if i in hidden]
            for x in inside:
                for y in inside:
                    if x != y:
                        pairs.append((x, y))
                        by_diff.setdefault(_minus(sig[y], sig[x]), []).append((x, y))
        down = dict.fromkeys(cols, False)
        up = dict.fromkeys(cols, False)

        def spare(i: int) -> bool:
            return self.counts[i] - 1 >= self.floors[i]

        for j, m in pairs:
            if down[j] and up[j] and down[m] and up[m]:
                continue
            for n, k in by_diff.get(_minus(sig[m], sig[j]), ())[:_SWAP_TRIES]:
                if len({j, m, n, k}) < 4:
                    continue
                if spare(j) and spare(k):  # j, k lose one; m, n gain one
                    down[j] = down[k] = up[m] = up[n] = True
                if spare(m) and spare(n):  # the other way round
                    up[j] = up[k] = down[m] = down[n] = True
        return [(down[i], up[i]) for i in cols]

    def _signature(self, i: int) -> tuple[tuple[int, int], ...]:
        terms: dict[int, int] = {}
        for r in self.member[i]:
            rel = self.relations[r]
            terms[r] = rel.parts.count(i) - (rel.total == i)
        return tuple(sorted((r, n) for r, n in terms.items() if n))

    @staticmethod
    def _solve(
        j: int, sign: float, a: np.ndarray, b: np.ndarray, floors: np.ndarray, values: np.ndarray
    ) -> np.ndarray | bool | None:
        """A whole-number solution with item ``j`` below (sign 1) or above (sign −1) its
        value; True when one exists without bound (no solution to show), None when none."""
        lower, upper = floors.copy(), np.full(len(floors), np.inf)
        if sign > 0:
            upper[j] = values[j] - 1.0
        else:
            lower[j] = values[j] + 1.0
        if lower[j] > upper[j]:
            return None
        c = np.zeros(len(floors))
        c[j] = sign
        relaxed = linprog(c, A_eq=a, b_eq=b, bounds=list(zip(lower, upper, strict=True)))
        if relaxed.status == 3:
            return True  # unbounded above: larger values are certainly possible
        if relaxed.status != 0:
            return None  # not even fractionally
        if np.allclose(relaxed.x, np.round(relaxed.x), atol=1e-7):
            return np.round(relaxed.x)
        whole = milp(
            c,
            constraints=LinearConstraint(a, b, b),
            integrality=1,
            bounds=Bounds(lower, upper),
            options={"time_limit": _MILP_SECONDS},
        )
        return np.round(whole.x) if whole.status == 0 else None

    def _widen(self, found: list[int]) -> bool:
        """For each item found, hide the smallest published item sharing a relation with it
        (anything published if none does); False when nothing is left to hide."""
        todo: list[int] = []
        added: set[int] = set()
        for item in sorted(found, key=self._order):
            near = {i for r in self.member[item] for i in self._items(r)}
            if near & added or not near - self.hidden:
                continue  # widened already by an item hidden for another one
            pick = min(near - self.hidden, key=self._order)
            self._hide(pick, todo)
            added.add(pick)
        if not todo:
            free = set(range(len(self.counts))) - self.hidden
            if not free:
                return False
            self._hide(min(free, key=self._order), todo)
        self._local(todo)
        return True

    def run(self) -> None:
        self._local(list(range(len(self.relations))))
        while True:
            found = self.determined()
            if not found:
                self.audited = len(self.hidden) <= self.audit_limit
                found = self.narrowed() if self.audited else []
            if not found or not self._widen(found):
                return

    def _items(self, r: int) -> tuple[int, ...]:
        rel = self.relations[r]
        return (rel.total, *rel.parts)
