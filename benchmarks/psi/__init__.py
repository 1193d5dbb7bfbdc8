"""Benchmark of the alignment PSI: time and bytes per item beside the issue's targets and FATE."""
