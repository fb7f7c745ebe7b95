"""The zoo's statistics against hand computations."""
import math

import pytest

from feed_mm.zoo.stats import (format_difference, mean_std,
                               paired_difference, t_quantile)


def test_mean_std_by_hand():
    summary = mean_std([90.0, 92.0, 94.0])
    assert summary['n'] == 3 and summary['mean'] == pytest.approx(92.0)
    # sqrt(((-2)^2 + 0 + 2^2) / (3 - 1)) = 2
    assert summary['std'] == pytest.approx(2.0)
    assert mean_std([91.5]) == dict(n=1, mean=91.5, std=None)


def test_t_quantile_table_values():
    # Student's t table: t_{0.975, 2} = 4.303, t_{0.975, 4} = 2.776.
    assert t_quantile(0.95, 2) == pytest.approx(4.3027, abs=1e-4)
    assert t_quantile(0.95, 4) == pytest.approx(2.7764, abs=1e-4)


def test_paired_difference_by_hand():
    values = {0: 91.0, 1: 93.0, 2: 95.0, 7: 50.0}
    baseline = {0: 90.0, 1: 91.0, 2: 92.0}
    diff = paired_difference(values, baseline)
    # Only the common seeds 0..2 pair: differences 1, 2, 3.
    assert diff['seeds'] == [0, 1, 2] and diff['diffs'] == [1.0, 2.0, 3.0]
    assert diff['mean'] == pytest.approx(2.0)
    # sd 1, so half width = t_{0.975, 2} / sqrt(3) = 4.3027 / 1.7321.
    half = 4.302653 / math.sqrt(3)
    assert diff['low'] == pytest.approx(2.0 - half, abs=1e-5)
    assert diff['high'] == pytest.approx(2.0 + half, abs=1e-5)
    assert diff['significant'] is False  # the interval reaches below 0
    assert format_difference(diff) == '+2.00 [-0.48, +4.48]'


def test_paired_difference_significant_and_degenerate():
    diff = paired_difference({0: 2.0, 1: 2.2, 2: 2.1}, {0: 1.0, 1: 1.0, 2: 1.0})
    assert diff['low'] > 0 and diff['significant'] is True
    one = paired_difference({0: 2.0}, {0: 1.0})
    assert one['mean'] == 1.0 and one['low'] is None
    assert format_difference(one) == '+1.00'
    assert paired_difference({0: 1.0}, {1: 1.0}) is None
