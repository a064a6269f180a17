"""Benchmarks against the bundled simulator: ``python bench/run.py`` (see README)."""
