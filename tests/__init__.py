"""Pytest tests of the pure engine (no Frappe needed)."""
