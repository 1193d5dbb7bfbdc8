"""Synthetic hospital case libraries in the patent schema, from the disease knowledge table."""
