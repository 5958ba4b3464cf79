"""The order in which a benchmark's sides run, block after block, and how two sides' blocks are compared (no Frappe
here: tests/test_benchmark_orders.py checks both without a bench)."""

from statistics import NormalDist, mean, median, stdev


def balanced_orders(sides: list) -> list[list]:
	"""Orders of `sides` in which each side runs in each position equally often and right after each other side
	equally often (a Williams design): len(sides) orders for an even number of sides, twice that (each order and
	its reverse) for an odd one. Repeated block after block, what one side leaves behind (the database's flushing
	of its writes, warm caches) weighs on every side alike."""
	n = len(sides)
	first, low, high = [0], 1, n - 1
	while len(first) < n:
		first.append(low)
		low += 1
		if len(first) < n:
			first.append(high)
			high -= 1
	orders = [[sides[(k + shift) % n] for k in first] for shift in range(n)]
	return orders if n % 2 == 0 else orders + [order[::-1] for order in orders]


def each_block(numerator: list[float], denominator: list[float]) -> list[float]:
	"""Two sides' times, block by block (the same blocks, interleaved): each block's ratio."""
	if len(numerator) != len(denominator) or not numerator:
		raise ValueError("the two sides need the same blocks, at least one")
	return [a / b for a, b in zip(numerator, denominator, strict=True)]


def block_ratios(numerator: list[float], denominator: list[float]) -> tuple[float, float]:
	"""Two sides' times, block by block (the same blocks, interleaved): (the median of the blocks' ratios, the ratio
	of the sums). Each block's ratio compares the two sides under the same conditions, minutes apart; the median of
	them is what a block costs, unmoved by a block another process on the machine slowed (a run's fsync stall,
	a burst of I/O: one such block moves the ratio of the sums by a percent or more on a 2-CPU machine)."""
	return median(each_block(numerator, denominator)), sum(numerator) / sum(denominator)


def mean_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
	"""(mean, low, high) of `values` (blocks' or rounds' ratios): the mean with the interval that holds the true
	mean at `confidence` (normal approximation, fair from some 20 values on). A verdict on a median of rounds that
	spread by several percent says how far the figure could move; this says it in one line."""
	if len(values) < 2:
		raise ValueError("an interval needs at least two values")
	centre = mean(values)
	half = NormalDist().inv_cdf((1 + confidence) / 2) * stdev(values) / len(values) ** 0.5
	return centre, centre - half, centre + half


# a block bills at most this many invoices a side: the sides of a block then run seconds apart, and a burst of the
# machine's load weighs on both; in blocks of 25 the same code measured anywhere from 0.97 to 1.08
BLOCK_INVOICES = 10


def blocks_for(design: list, invoices: int, most: int = BLOCK_INVOICES, fewest: int = 8) -> int:
	"""The blocks when --blocks is not given: whole rounds of the balanced `design`, at least `fewest` blocks of at
	most `most` invoices a side; of those up to twice as many, the fewest that share `invoices` out evenly, else the
	fewest (blocks then differ by one invoice)."""
	rounds = len(design)
	wanted = rounds * -(-max(fewest, -(-invoices // most)) // rounds)
	return next((b for b in range(wanted, 2 * wanted + 1, rounds) if invoices % b == 0), wanted)
