"""Committed compiled contracts (ABI + bytecode JSON), loaded at run time without solc."""
