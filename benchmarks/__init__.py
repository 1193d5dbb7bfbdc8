"""fedchain benchmarks: `python -m benchmarks.<name>`."""
