"""Benchmarks and the stress harness they share with tests/test_stress.py: `python -m benchmarks.run` (make bench)."""
