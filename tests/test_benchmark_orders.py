"""The balanced order of a benchmark's sides (benchmarks/orders.py)."""

from collections import Counter
from itertools import pairwise

import pytest

from benchmarks.orders import balanced_orders


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_each_side_runs_in_each_position_and_after_each_other_side_equally_often(n):
	sides = [f"side {k}" for k in range(n)]
	orders = balanced_orders(sides)
	assert len(orders) == (n if n % 2 == 0 else 2 * n)
	assert all(sorted(order) == sorted(sides) for order in orders)
	positions = Counter((k, side) for order in orders for k, side in enumerate(order))
	assert set(positions.values()) == {len(orders) // n}
	assert len(positions) == n * n
	if n > 1:
		pairs = Counter(pair for order in orders for pair in pairwise(order))
		assert len(pairs) == n * (n - 1)
		assert len(set(pairs.values())) == 1


def test_four_sides_as_the_overhead_benchmark_runs_them():
	assert balanced_orders(["ours", "direct", "one pass", "two step"]) == [
		["ours", "direct", "two step", "one pass"],
		["direct", "one pass", "ours", "two step"],
		["one pass", "two step", "direct", "ours"],
		["two step", "ours", "one pass", "direct"],
	]
