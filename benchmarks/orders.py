"""The order in which a benchmark's sides run, block after block (no Frappe here: tests/test_benchmark_orders.py
checks it without a bench)."""


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
