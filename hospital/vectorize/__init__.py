"""Vectorisation of cases: V1 (features) and V2 (outcome) per the consortium schema."""

from hospital.vectorize.decode import Outcome, v1_to_features, v2_to_outcome
from hospital.vectorize.encode import case_to_v1, case_to_v2, vectorize_cases
from hospital.vectorize.layout import V1Layout, V2Layout, v1_layout, v2_layout

__all__ = [
    "Outcome",
    "V1Layout",
    "V2Layout",
    "case_to_v1",
    "case_to_v2",
    "v1_layout",
    "v2_layout",
    "v1_to_features",
    "v2_to_outcome",
    "vectorize_cases",
]
