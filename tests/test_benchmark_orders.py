"""The balanced order of a benchmark's sides and the comparison of their blocks (benchmarks/orders.py)."""

from collections import Counter
from itertools import pairwise

import pytest

from benchmarks.orders import balanced_orders, block_ratios, blocks_for, mean_interval


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


def test_the_blocks_ratio_is_their_median_and_the_sums_ratio_is_beside_it():
	ours = [1.0, 1.1, 3.0, 1.0, 1.2]  # the third block was slowed by something else on the machine
	theirs = [1.0, 1.0, 1.0, 1.0, 1.0]
	assert block_ratios(ours, theirs) == (pytest.approx(1.1), pytest.approx(7.3 / 5))
	assert block_ratios([2.0, 4.0], [1.0, 1.0]) == (pytest.approx(3.0), pytest.approx(3.0))


def test_the_sides_need_the_same_blocks():
	with pytest.raises(ValueError):
		block_ratios([1.0], [1.0, 1.0])
	with pytest.raises(ValueError):
		block_ratios([], [])


def test_blocks_of_at_most_ten_invoices_in_whole_rounds_that_share_the_invoices_out_evenly():
	design = balanced_orders(["ours", "direct", "one pass", "two step"])
	assert blocks_for(design, 200) == 20
	assert blocks_for(design, 400) == 40
	assert blocks_for(design, 100) == 20  # 12 and 16 would leave invoices over
	assert blocks_for(design, 40) == 8  # never fewer than 8 blocks
	assert blocks_for(design, 30) == 8  # 30 shares out evenly into no whole round of 8 to 16: the fewest
	assert blocks_for(design, 52) == 8  # not 52 blocks of one invoice
	assert blocks_for(design, 404) == 44  # not 404 blocks: 44 blocks of 9 or 10
	three = balanced_orders(["ours", "one pass", "autorepeat"])  # six orders
	assert blocks_for(three, 200) == 24
	assert blocks_for(design, 200, most=5) == 40


def test_the_mean_of_the_rounds_with_its_95_percent_interval():
	centre, low, high = mean_interval([0.98, 1.02] * 50)
	assert centre == pytest.approx(1.0)
	# the standard deviation of the 100 values is 0.0201, its error of the mean 0.00201, times 1.96
	assert (low, high) == (pytest.approx(1.0 - 0.003940, abs=1e-5), pytest.approx(1.0 + 0.003940, abs=1e-5))
	wider = mean_interval([0.98, 1.02] * 50, confidence=0.99)
	assert wider[1] < low and wider[2] > high
	assert mean_interval([1.05, 1.05]) == (pytest.approx(1.05), pytest.approx(1.05), pytest.approx(1.05))
	with pytest.raises(ValueError):
		mean_interval([1.0])
