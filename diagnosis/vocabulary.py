"""Which of a doctor's finding names the consortium vocabulary does not know, and close terms.

A symptom or lab name outside the vocabulary matches no library case, so the suggestion
silently rests on the other findings; the answer names such terms and offers the nearest
known ones instead (the doctor's "fever" → "high_fever", "mild_fever").
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from diagnosis.similarity import normalise_term
from hospital.emr.records import CaseRecord


class UnknownTerm(BaseModel):
    """A finding name the consortium vocabulary lacks, with the closest known terms."""

    model_config = ConfigDict(frozen=True)

    field: str
    name: str
    did_you_mean: list[str]


class Vocabulary:
    """Known symptom and lab terms (normalised as the matcher normalises them)."""

    def __init__(self, symptoms: Iterable[str], labs: Iterable[str]) -> None:
        self.symptoms = sorted({normalise_term(s) for s in symptoms})
        self.labs = sorted({normalise_term(lab) for lab in labs})

    def unknown_terms(self, query: CaseRecord) -> list[UnknownTerm]:
        """Every symptom or lab of ``query`` not in the vocabulary, in request order."""
        out = []
        for kind, names, known in (
            ("symptoms", [s.name for s in query.symptoms], self.symptoms),
            ("labs", [lab.name for lab in query.labs], self.labs),
        ):
            known_set = set(known)
            for i, name in enumerate(names):
                term = normalise_term(name)
                if term in known_set:
                    continue
                close = difflib.get_close_matches(term, known, n=3, cutoff=0.6)
                close += [k for k in known if term and term in k and k not in close][:3]
                out.append(UnknownTerm(field=f"{kind}[{i}].name", name=name,
                                       did_you_mean=close[:5]))
        return out
