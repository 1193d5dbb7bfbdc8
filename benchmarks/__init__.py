"""fedchain benchmarks, each runnable as `python -m benchmarks.<name>`; each prints a table."""
