"""Small, dependable statistics for audits and comparisons between groups.

- ``wilson``: the Wilson score interval of a proportion (good at small n and near 0 or 1,
  where the normal approximation gives intervals outside [0, 1]).
- ``bootstrap_median``: a percentile bootstrap interval of a median (seeded: the same data
  gives the same interval).
- ``two_proportions``: is a group's rate different from the rest's? Fisher's exact test for
  small counts, the two-sided z test otherwise.
- ``benjamini_hochberg``: false-discovery-rate adjustment when many groups are tested at once
  (twenty districts tested at 5 % would flag one by chance alone).
- ``psi``: the population stability index between two distributions over the same bins.
- ``reliability``: calibration bins and the expected calibration error (ECE).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as sps

Z95 = 1.959963984540054
# PSI's usual reading: < 0.1 stable, 0.1–0.25 a moderate shift, > 0.25 a large shift.
PSI_MODERATE = 0.1
PSI_LARGE = 0.25
_EPS = 1e-4


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    if n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    xs = sorted(values)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def bootstrap_median(
    values: Sequence[float], *, resamples: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """95 % percentile interval of the median; None for fewer than two values."""
    n = len(values)
    if n < 2:
        return None
    rng = random.Random(seed)
    xs = list(values)
    meds = sorted(
        median([xs[int(rng.random() * n)] for _ in range(n)]) or 0.0 for _ in range(resamples)
    )
    return meds[int(0.025 * (resamples - 1))], meds[int(0.975 * (resamples - 1))]


@dataclass(frozen=True)
class Comparison:
    p_value: float
    test: str  # "fisher" | "z"
    difference: float  # group rate − rest rate


def two_proportions(k1: int, n1: int, k2: int, n2: int) -> Comparison | None:
    if n1 <= 0 or n2 <= 0:
        return None
    diff = k1 / n1 - k2 / n2
    if min(k1, n1 - k1, k2, n2 - k2) < 5:
        _, p = sps.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])
        return Comparison(float(p), "fisher", diff)
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return Comparison(1.0, "z", diff)
    z = diff / se
    return Comparison(float(2 * sps.norm.sf(abs(z))), "z", diff)


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Adjusted p-values (q-values), in the order given."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    out = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        out[i] = min(1.0, running)
    return out


def psi(reference: Sequence[float], current: Sequence[float]) -> float | None:
    """Population stability index of two histograms (counts or shares over the same bins)."""
    r_total, c_total = sum(reference), sum(current)
    if r_total <= 0 or c_total <= 0 or len(reference) != len(current):
        return None
    out = 0.0
    for r, c in zip(reference, current, strict=True):
        pr, pc = max(r / r_total, _EPS), max(c / c_total, _EPS)
        out += (pc - pr) * math.log(pc / pr)
    return out


def psi_reading(value: float | None) -> str:
    if value is None:
        return "not enough data"
    if value < PSI_MODERATE:
        return "stable"
    return "moderate shift" if value < PSI_LARGE else "large shift"


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    n: int
    mean_confidence: float | None
    accuracy: float | None


def reliability(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> tuple[list[Bin], float | None]:
    """Equal-width confidence bins and the expected calibration error: the n-weighted mean
    gap between a bin's confidence and its accuracy (0 = perfectly calibrated)."""
    groups: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for c, ok in zip(confidences, correct, strict=True):
        i = min(bins - 1, max(0, int(c * bins)))
        groups[i].append((c, ok))
    out, total, gap = [], len(confidences), 0.0
    for i, g in enumerate(groups):
        if g:
            conf = sum(c for c, _ in g) / len(g)
            acc = sum(ok for _, ok in g) / len(g)
            gap += len(g) * abs(conf - acc)
            out.append(Bin(i / bins, (i + 1) / bins, len(g), conf, acc))
        else:
            out.append(Bin(i / bins, (i + 1) / bins, 0, None, None))
    return out, (gap / total if total else None)
