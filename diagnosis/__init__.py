"""Assisted diagnosis: weighted-similarity case matching and recommendations."""
