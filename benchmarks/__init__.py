"""Benchmarks of accumulating_billing against ERPNext itself: run.py is the entry point."""
