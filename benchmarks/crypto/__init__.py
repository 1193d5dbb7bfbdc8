"""Benchmark: value-by-value phe against packed threshold Paillier (2048-bit keys)."""
