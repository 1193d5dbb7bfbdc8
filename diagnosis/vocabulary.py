"""Which of a doctor's finding names the consortium vocabulary does not know, and close terms.

A symptom or lab name outside the vocabulary matches no library case, so the suggestion
silently rests on the other findings; the answer names such terms and offers the nearest
known ones instead (the doctor's "fever" → "high_fever", "mild_fever").
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import ConfigDict

from hospital.emr.records import CaseRecord, normalize_term


@dataclass(slots=True, kw_only=True)
class UnknownTerm:
    """A finding name the consortium vocabulary lacks, with the closest known terms."""

    # outbound only (part of a suggestion): a dataclass like the rest of that family; its
    # own config, or it takes the suggestion's extra="forbid" (the OpenAPI never had it)
    __pydantic_config__ = ConfigDict(extra="ignore")

    field: str
    name: str
    did_you_mean: list[str]


class Vocabulary:
    """Known symptom and lab terms (normalised as the matcher normalises them)."""

    def __init__(self, symptoms: Iterable[str], labs: Iterable[str]) -> None:
        self.symptoms = sorted({normalize_term(s) for s in symptoms})
        self.labs = sorted({normalize_term(lab) for lab in labs})
        self._known = {"symptoms": set(self.symptoms), "labs": set(self.labs)}
        # difflib over the vocabulary costs ~1 ms a term; doctors repeat their terms
        self._close = functools.lru_cache(maxsize=4096)(self._close_terms)

    def _close_terms(self, kind: str, term: str) -> tuple[str, ...]:
        known = self.symptoms if kind == "symptoms" else self.labs
        close = difflib.get_close_matches(term, known, n=3, cutoff=0.6)
        close += [k for k in known if term and term in k and k not in close][:3]
        return tuple(close[:5])

    def unknown_terms(self, query: CaseRecord) -> list[UnknownTerm]:
        """Every symptom or lab of ``query`` not in the vocabulary, in request order."""
        out = []
        for kind, names in (
            ("symptoms", [s.name for s in query.symptoms]),
            ("labs", [lab.name for lab in query.labs]),
        ):
            for i, name in enumerate(names):
                term = normalize_term(name)
                if term in self._known[kind]:
                    continue
                out.append(
                    UnknownTerm(
                        field=f"{kind}[{i}].name",
                        name=name,
                        did_you_mean=list(self._close(kind, term)),
                    )
                )
        return out
