"""Benchmarks for commit-polish: run ``python -m bench.run`` from the repository root."""
