"""What the router learns from history besides the text (see ``jiesu.dispatch.router``):
P(unit | category, area) from counts with Dirichlet backoff, and units renamed over time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from jiesu.errors import BadInput

if TYPE_CHECKING:
    from jiesu.dispatch.router import RouteExample


SEP = "/"
# (category prefix, area prefix); "" means "any".
Context = tuple[str, str]


def path_prefixes(value: str | None) -> list[str]:
    """Every level of a path, coarse to fine: "a/b/c" → ["a", "a/b", "a/b/c"]."""
    parts = [p.strip() for p in (value or "").split(SEP)]
    parts = [p for p in parts if p]
    return [SEP.join(parts[: i + 1]) for i in range(len(parts))]


def _chains(example: RouteExample) -> tuple[list[Context], list[Context]]:
    """The contexts of one example, coarse to fine (the global one left out): leaf category
    with ever finer area levels after the category levels; and the area levels alone."""
    cats = path_prefixes(example.category)
    areas = path_prefixes(example.area)
    joint = [(c, "") for c in cats]
    if cats:
        joint += [(cats[-1], a) for a in areas]
    return joint, [("", a) for a in areas]


@dataclass
class _Counts:
    units: NDArray[np.int64]
    counts: NDArray[np.float64]
    total: float


@dataclass
class HistoryPrior:
    n_units: int
    alpha: float
    base: NDArray[np.float64]  # counts of every unit over all rows
    table: dict[Context, _Counts] = field(default_factory=dict)

    @classmethod
    def count(
        cls,
        examples: Sequence[RouteExample],
        y: NDArray[np.int64],
        n_units: int,
        alpha: float,
    ) -> HistoryPrior:
        raw: dict[Context, dict[int, float]] = {}
        for ex, unit in zip(examples, y.tolist(), strict=True):
            joint, area = _chains(ex)
            for ctx in joint + area:
                cell = raw.setdefault(ctx, {})
                cell[unit] = cell.get(unit, 0.0) + 1.0
        base = np.bincount(y, minlength=n_units).astype(np.float64)
        return cls(n_units, alpha, base, {ctx: _pack(c) for ctx, c in raw.items()})

    def _chain_proba(self, chain: Sequence[Context], start: NDArray[np.float64]) -> Any:
        p = start
        for ctx in chain:
            cell = self.table.get(ctx)
            if cell is None:
                continue  # unseen here: the coarser level's distribution stands
            p = p * self.alpha
            p[cell.units] += cell.counts
            p /= cell.total + self.alpha
        return p

    def log_proba(
        self, examples: Sequence[RouteExample]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """log P(unit | category, area) and log P(unit | area) of each example."""
        # Add-one over all rows: every unit keeps a little mass wherever it was never seen.
        start = (self.base + 1.0) / (self.base.sum() + self.n_units)
        joint = np.empty((len(examples), self.n_units))
        area = np.empty((len(examples), self.n_units))
        memo: dict[tuple[str | None, str | None], tuple[Any, Any]] = {}
        for i, ex in enumerate(examples):
            key = (ex.category, ex.area)
            if key not in memo:
                j_chain, a_chain = _chains(ex)
                memo[key] = (
                    np.log(self._chain_proba(j_chain, start)),
                    np.log(self._chain_proba(a_chain, start)),
                )
            joint[i], area[i] = memo[key]
        return joint, area

    # -- persistence: contexts in JSON, counts as flat arrays ---------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "contexts": [list(ctx) for ctx in self.table]}

    def arrays(self) -> dict[str, Any]:
        cells = list(self.table.values())
        return {
            "base": self.base,
            "sizes": np.array([len(c.units) for c in cells], dtype=np.int64),
            "units": np.concatenate([c.units for c in cells] or [np.zeros(0, np.int64)]),
            "counts": np.concatenate([c.counts for c in cells] or [np.zeros(0)]),
        }

    @classmethod
    def from_saved(cls, doc: Mapping[str, Any], arrays: Any, n_units: int) -> HistoryPrior:
        contexts = [(str(c), str(a)) for c, a in doc["contexts"]]
        base = np.asarray(arrays["base"], dtype=np.float64)
        sizes = np.asarray(arrays["sizes"], dtype=np.int64)
        units = np.asarray(arrays["units"], dtype=np.int64)
        counts = np.asarray(arrays["counts"], dtype=np.float64)
        if (
            base.shape != (n_units,)
            or sizes.shape != (len(contexts),)
            or units.shape != counts.shape
            or int(sizes.sum()) != len(units)
            or (len(units) and not 0 <= int(units.min()) <= int(units.max()) < n_units)
        ):
            raise ValueError("the history arrays do not match the contexts and units")
        table: dict[Context, _Counts] = {}
        ends = np.cumsum(sizes)
        for ctx, end, size in zip(contexts, ends.tolist(), sizes.tolist(), strict=True):
            table[ctx] = _pack_arrays(units[end - size : end], counts[end - size : end])
        return cls(n_units, float(doc["alpha"]), base, table)


def _pack(cell: dict[int, float]) -> _Counts:
    units = np.array(sorted(cell), dtype=np.int64)
    return _pack_arrays(units, np.array([cell[u] for u in units.tolist()], dtype=np.float64))


def _pack_arrays(units: NDArray[np.int64], counts: NDArray[np.float64]) -> _Counts:
    return _Counts(units, counts, float(counts.sum()))


def resolve_aliases(aliases: Mapping[str, str]) -> dict[str, str]:
    """Each old name mapped to its final current name, following chains (A→B, B→C: A→C)."""
    out: dict[str, str] = {}
    for start in aliases:
        seen = [start]
        name = aliases[start]
        while name in aliases and name != aliases[name]:
            if name in seen:
                raise BadInput("aliases", f"the aliases go round in a circle: {' → '.join(seen)}")
            seen.append(name)
            name = aliases[name]
        if name != start:
            out[start] = name
    return out


def relabel_units(units: Sequence[str], aliases: Mapping[str, str]) -> list[str]:
    """Historical unit names mapped to current ones (units are merged and renamed over time;
    training on the old names would split one unit's history in two)."""
    final = resolve_aliases(aliases)
    return [final.get(u, u) for u in units]
