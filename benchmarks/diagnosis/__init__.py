"""Assisted-diagnosis benchmark: in-process matching, REST latency, diagnosis accuracy."""
