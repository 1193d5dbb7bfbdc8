"""The diagnosis service: case index + weights + model + suggestions, behind the REST routes."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Mapping, Sequence

from diagnosis.ids import RANDOM_BYTES, time_ordered_id
from diagnosis.index import CaseIndex, Match, MatchQuery
from diagnosis.ports import (
    CaseLibrary,
    CaseSink,
    DiagnosisModel,
    InMemorySuggestionStore,
    PendingFeedback,
    SharedDiagnosisState,
    SuggestionStore,
    predict_all,
)
from diagnosis.recommend import recommend
from diagnosis.schemas import (
    CaseEvidence,
    Decision,
    DiagnosisRequest,
    DiagnosisSuggestion,
    Feedback,
    FeedbackReceipt,
    SimilarCases,
    WeightInfo,
)
from diagnosis.similarity import (
    AttributeContribution,
    QueryFindings,
    SimilarityConfig,
    case_similarity,
)
from diagnosis.vocabulary import Vocabulary
from diagnosis.weights import WeightBook, WeightSnapshot, checked_overrides
from hospital.emr.records import CaseRecord, Diagnosis, Origin
from node.errors import NotFound, ValidationFailed


class DiagnosisService:
    """Answers doctors' queries over one hospital's case library and takes their feedback."""

    def __init__(
        self,
        *,
        library: CaseLibrary,
        sink: CaseSink,
        weights: WeightBook | None = None,
        model: DiagnosisModel | None = None,
        config: SimilarityConfig | None = None,
        alpha: float = 0.5,
        suggestions: SuggestionStore | None = None,
        disease_names: Mapping[str, str] | None = None,
        vocabulary: Vocabulary | None = None,
        shared: SharedDiagnosisState | None = None,
    ) -> None:
        self.library = library
        self.sink = sink
        self.weights = weights or WeightBook()
        self.model = model
        self.alpha = alpha
        self.disease_names = dict(disease_names or {})
        self.vocabulary = vocabulary
        self.suggestions = suggestions or InMemorySuggestionStore()
        self._lock = threading.RLock()
        self.index = CaseIndex(config)
        self.index.add_many(library.iter_cases())
        self._answers_seen = 0  # answer number up to which feedback cases are indexed
        self.shared = shared  # weights, overrides and model published by any process
        self._shared_seen: Mapping[str, int] = {}
        self.follow_shared()

    def set_model(self, model: DiagnosisModel | None) -> None:
        """Swap the consortium model (after a sealed round); None falls back to cases only."""
        self.model = model

    def follow_shared(self) -> bool:
        """Take the weights, overrides and model any process published since the last look."""
        if self.shared is None:
            return False
        changes = self.shared.changes_since(self._shared_seen)
        if changes is None:
            return False
        if changes.weights is not None:
            self.weights.load(changes.weights, version=changes.weight_version)
        if changes.model is not None:
            self.model = changes.model
        self._shared_seen = changes.versions
        return True

    def current_weights(self) -> WeightSnapshot:
        """The weights in force, as last published by any process."""
        self.follow_shared()
        return self.weights.current()

    def set_overrides(self, overrides: Mapping[str, float]) -> WeightSnapshot:
        """Replace the clinician overrides, for every process serving this hospital."""
        if self.shared is None:
            return self.weights.set_overrides(overrides)
        self.shared.publish_overrides(checked_overrides(overrides))
        self.follow_shared()
        return self.weights.current()

    def refresh(self) -> int:
        """Take what other processes published: new feedback cases (indexed), weights, model.

        Returns how many cases were new to this index.
        """
        self.follow_shared()
        seq, case_ids = self.suggestions.answered_since(self._answers_seen)
        if seq == self._answers_seen:
            return 0
        with self._lock:
            fresh = [
                c
                for cid in dict.fromkeys(case_ids)
                if cid not in self.index and (c := self.library.get_case(cid)) is not None
            ]
            self.index.add_many(fresh)
            self._answers_seen = seq
        return len(fresh)

    def _evidence(
        self,
        matches: list[Match],
        query: CaseRecord,
        weights: Mapping[str, float],
        stored: Mapping[str, CaseRecord],
    ) -> tuple[dict[str, CaseRecord], dict[str, list[AttributeContribution]]]:
        """The matched records (from ``stored``) and each one's per-attribute contributions."""
        records = {m.case_id: r for m in matches if (r := stored.get(m.case_id)) is not None}
        found = QueryFindings.of(query)  # once for all the matches
        # a match missing from the store is explained from its indexed features
        cases = [
            records[m.case_id] if m.case_id in records else self.index.features_of(m.row)
            for m in matches
        ]
        config = self.index.config
        return records, {
            m.case_id: list(case_similarity(case, found, weights, config).contributions)
            for m, case in zip(matches, cases, strict=True)
        }

    def suggest(self, request: DiagnosisRequest) -> DiagnosisSuggestion:
        """Match the findings, combine with the model, store and return the suggestion."""
        return self.suggest_many([request])[0]

    def suggest_many(self, requests: Sequence[DiagnosisRequest]) -> list[DiagnosisSuggestion]:
        """Answer several requests in one pass over the index; store them in one write.

        Each suggestion is what ``suggest`` returns for its request alone (same weights,
        matches and evidence; its own id and time).
        """
        self.refresh()
        queries = [MatchQuery(r.as_case(), r.top_k, r.threshold) for r in requests]
        snap = self.weights.current()
        with self._lock:
            found = self.index.top_k_many(queries, snap.weights, version=snap.version)
            size = len(self.index)
        info = WeightInfo(version=snap.version, source=snap.source, round_id=snap.round_id)
        stored = self.library.get_cases([m.case_id for matches in found for m in matches])
        model = self.model
        distributions = (
            predict_all(model, [q.query for q in queries])
            if model is not None
            else [None] * len(queries)
        )
        out: list[DiagnosisSuggestion] = []
        pending: list[tuple[str, PendingFeedback]] = []
        entropy = os.urandom(RANDOM_BYTES * len(requests))  # the ids' randomness, one call
        for i, (request, q, matches, distribution) in enumerate(
            zip(requests, queries, found, distributions, strict=True)
        ):
            records, contribs = self._evidence(matches, q.query, snap.weights, stored)
            rec = recommend(
                matches,
                records,
                contribs,
                model_distribution=distribution,
                alpha=self.alpha,
                disease_names=self.disease_names,
            )
            created_at = dt.datetime.now(dt.UTC)
            suggestion = DiagnosisSuggestion(
                suggestion_id=time_ordered_id(
                    created_at, entropy[RANDOM_BYTES * i : RANDOM_BYTES * (i + 1)]
                ),
                created_at=created_at,
                patient_id=request.patient_id,
                diagnoses=rec.diagnoses,
                complications=rec.complications,
                treatment_plan=rec.treatment_plan,
                evidence=rec.evidence,
                weights=info,
                library_size=size,
                model_used=distribution is not None,
                unknown_terms=self.vocabulary.unknown_terms(q.query) if self.vocabulary else [],
            )
            leader = rec.diagnoses[0].disease if rec.diagnoses else None
            plan = tuple(rec.treatment_plan.treatments) if rec.treatment_plan else ()
            pending.append(
                (suggestion.suggestion_id, PendingFeedback(query=q.query, leader=leader, plan=plan))
            )
            out.append(suggestion)
        self.suggestions.put_many(pending)
        return out

    def feedback(self, suggestion_id: str, feedback: Feedback) -> FeedbackReceipt:
        """Turn the doctor's verdict into a doctor-validated case, store it and index it."""
        item = self.suggestions.get(suggestion_id)
        leader, plan = item.leader, item.plan
        if feedback.decision is Decision.ACCEPT:
            if leader is None:
                raise ValidationFailed(
                    "there is no suggested diagnosis to accept",
                    field="decision",
                    fix="send decision 'adjust' with final_diagnosis",
                )
            diagnosis = Diagnosis(disease=leader)
            treatments = plan
        else:
            assert feedback.final_diagnosis is not None
            diagnosis = feedback.final_diagnosis
            if feedback.treatments is not None:
                treatments = tuple(feedback.treatments)
            elif leader is not None and leader.icd10 == diagnosis.disease.icd10:
                treatments = plan
            else:
                treatments = ()
        case = item.query.model_copy(
            update={
                "diagnosis": diagnosis,
                "treatments": treatments,
                "origin": Origin.DOCTOR_VALIDATED,
                "date": dt.date.today(),
            }
        )
        validated = CaseRecord.model_validate(case.model_dump())
        self.suggestions.claim(suggestion_id)
        try:
            stored = self.sink.add_validated_case(validated)
            assert stored.case_id is not None
            with self._lock:
                # the store keys cases by content: the same findings, diagnosis and day
                # accepted twice (here or in another process) are one case, indexed once
                if stored.case_id not in self.index:
                    self.index.add(stored)
        except BaseException:
            self.suggestions.release(suggestion_id)
            raise
        self.suggestions.complete(suggestion_id, stored.case_id)
        return FeedbackReceipt(suggestion_id=suggestion_id, case_id=stored.case_id, case=stored)

    def similar(self, case_id: str, *, k: int = 10, threshold: float = 0.0) -> SimilarCases:
        """Library cases most similar to library case ``case_id`` (itself excluded)."""
        query = self.library.get_case(case_id)
        if query is None:
            raise NotFound(f"case {case_id!r} is not in the case library", fix="check the id")
        snap = self.current_weights()
        with self._lock:
            matches = self.index.top_k(
                query,
                snap.weights,
                k=k,
                threshold=threshold,
                exclude=[case_id],
                version=snap.version,
            )
        stored = self.library.get_cases([m.case_id for m in matches])
        records, contribs = self._evidence(matches, query, snap.weights, stored)
        rec = recommend(matches, records, contribs)
        evidence: list[CaseEvidence] = rec.evidence
        return SimilarCases(case_id=case_id, matches=evidence)
