"""The attacker of the open-data tests: what a reader of published counts can work out.

Independent of ``jiesu.privacy.suppression``: for every hidden item it solves two integer
programs (scipy's HiGHS) over everything a reader knows — the published counts, the relations
(each total is the sum of its parts) and the floors (a listed cell holds at least one request,
a total at least one per cell listed under it) — for the smallest and the largest value the
item could have. An item whose two agree is pinned: published in all but name.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from jiesu.privacy.suppression import Relation


def attack(
    counts: Sequence[int],
    relations: Sequence[Relation],
    hidden: set[int],
    floors: Sequence[int] | None = None,
) -> dict[int, tuple[int, float]]:
    """Hidden item → (least, greatest) value it can have (inf: no upper bound)."""
    cols = sorted(hidden)
    where = {i: j for j, i in enumerate(cols)}
    rows, rhs = [], []
    for rel in relations:
        row = np.zeros(len(cols))
        known = 0
        for p in rel.parts:
            if p in where:
                row[where[p]] += 1
            else:
                known -= counts[p]
        if rel.total in where:
            row[where[rel.total]] -= 1
        else:
            known += counts[rel.total]
        if row.any():
            rows.append(row)
            rhs.append(known)
    out = {}
    constraints = LinearConstraint(np.array(rows), rhs, rhs) if rows else []
    least = Bounds([floors[i] if floors else 1 for i in cols], np.inf)
    for j, i in enumerate(cols):
        c = np.zeros(len(cols))
        c[j] = 1
        low = milp(c, constraints=constraints, integrality=1, bounds=least)
        high = milp(-c, constraints=constraints, integrality=1, bounds=least)
        assert low.status == 0, "the true counts are a solution"
        out[i] = (round(low.x[j]), round(high.x[j]) if high.status == 0 else np.inf)
    return out


def pinned(
    counts: Sequence[int],
    relations: Sequence[Relation],
    hidden: set[int],
    floors: Sequence[int] | None = None,
) -> list[int]:
    return [i for i, (lo, hi) in attack(counts, relations, hidden, floors).items() if lo == hi]
