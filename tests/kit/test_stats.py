"""The small statistics the audits rest on, against values computed by hand or by SciPy."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sps

from jiesu.kit.stats import (
    benjamini_hochberg,
    bootstrap_median,
    median,
    psi,
    psi_reading,
    reliability,
    two_proportions,
    wilson,
)


def test_wilson_matches_the_closed_form_and_stays_inside_0_1() -> None:
    lo, hi = wilson(8, 10) or (0, 0)
    # Wilson 95 % for 8/10: 0.4902 – 0.9433 (e.g. Newcombe 1998, method 3).
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 5) is not None and wilson(0, 5)[0] == 0.0  # type: ignore[index]
    assert wilson(5, 5)[1] == 1.0  # type: ignore[index]
    assert wilson(0, 0) is None


def test_two_proportions_uses_fisher_for_small_cells_and_z_otherwise() -> None:
    small = two_proportions(1, 10, 30, 40)
    assert small is not None and small.test == "fisher"
    assert small.p_value == pytest.approx(sps.fisher_exact([[1, 9], [30, 10]])[1])
    big = two_proportions(60, 100, 160, 200)
    assert big is not None and big.test == "z" and big.difference == pytest.approx(-0.2)
    assert big.p_value < 0.001
    assert two_proportions(0, 0, 1, 2) is None


def test_benjamini_hochberg_adjusts_in_order() -> None:
    q = benjamini_hochberg([0.01, 0.04, 0.03, 0.5])
    assert q == pytest.approx([0.04, 0.0533333, 0.0533333, 0.5], abs=1e-6)


def test_psi_is_zero_for_the_same_mix_and_large_for_a_swap() -> None:
    assert psi([10, 20, 30], [1, 2, 3]) == pytest.approx(0.0)
    swapped = psi([90, 10], [10, 90])
    assert swapped is not None and swapped > 0.25 and psi_reading(swapped) == "large shift"
    assert psi([0, 0], [1, 1]) is None


def test_reliability_bins_and_ece() -> None:
    bins, ece = reliability([0.95, 0.95, 0.15, 0.15], [True, False, False, False])
    assert ece == pytest.approx((2 * abs(0.95 - 0.5) + 2 * abs(0.15 - 0.0)) / 4)
    assert [b.n for b in bins if b.n] == [2, 2]
    _, perfect = reliability([1.0, 0.0], [True, False])
    assert perfect == pytest.approx(0.0)


def test_bootstrap_median_brackets_the_median_and_is_seeded() -> None:
    values = [float(x) for x in range(1, 102)]
    ci = bootstrap_median(values, seed=3)
    assert ci is not None and ci[0] < median(values) == 51.0 < ci[1]  # type: ignore[operator]
    assert bootstrap_median(values, seed=3) == ci
    assert bootstrap_median([1.0]) is None
    assert not math.isnan(ci[0])
