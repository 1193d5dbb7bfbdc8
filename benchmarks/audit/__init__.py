"""Audit-time benchmark: verifying a real history, by check kind, against producing it."""
