"""The hospital's FastAPI service: alignment, diagnosis and round endpoints over its EMR."""
