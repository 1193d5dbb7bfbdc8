"""A hospital's diagnosis state in its database, followed by every process serving diagnosis.

The process taking part in the rounds publishes each sealed model (its flat weights with
the schema and hidden sizes that rebuild it) and the attribute importance it implies; any
process publishes the clinicians' overrides. Before each batch of suggestions every
serving process reads the parts' versions (one small query) and takes what changed, so
``fedchain diagnosis serve --workers N`` answers with the model and weights the hospital
service applied after the last sealed round.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
from sqlalchemy import Engine

from diagnosis.ports import MODEL, OVERRIDES, WEIGHTS, DiagnosisModel, SharedChanges
from diagnosis.weights import SharedWeights, importance_from_first_layer
from hospital.emr.diagnosis_state import SqlDiagnosisState
from hospital.service.consortium_model import attribute_columns, diagnosis_model, sealed_network


def encode_model(
    weights: np.ndarray, *, hidden: Sequence[int], schema_name: str, round_id: int
) -> bytes:
    """A sealed model as stored: one JSON line (how to rebuild it), then float32 weights."""
    meta = {"schema": schema_name, "hidden": list(hidden), "round_id": round_id}
    flat = np.ascontiguousarray(weights, dtype="<f4")
    return json.dumps(meta).encode() + b"\n" + flat.tobytes()


def decode_model(payload: bytes) -> DiagnosisModel:
    """The diagnosis model of a stored sealed model."""
    head, _, raw = payload.partition(b"\n")
    meta = json.loads(head)
    weights = np.frombuffer(raw, dtype="<f4")
    return diagnosis_model(*sealed_network(weights, meta["hidden"], str(meta["schema"])))


class SqlSharedDiagnosis:
    """``SharedDiagnosisState`` over the hospital's EMR database."""

    def __init__(self, engine: Engine) -> None:
        self.table = SqlDiagnosisState(engine)

    def publish_round(
        self, weights: np.ndarray, *, round_id: int, hidden: Sequence[int], schema_name: str
    ) -> None:
        """Publish a sealed round's model and the attribute importance it implies."""
        net, v1, _ = sealed_network(weights, hidden, schema_name)
        importance = importance_from_first_layer(net, attribute_columns(v1))
        self.table.publish(
            MODEL, encode_model(weights, hidden=hidden, schema_name=schema_name, round_id=round_id)
        )
        body = {"importance": dict(importance), "round_id": round_id}
        self.table.publish(WEIGHTS, json.dumps(body).encode())

    def publish_overrides(self, overrides: Mapping[str, float]) -> None:
        """Make these (checked) clinician overrides the ones every process uses."""
        self.table.publish(OVERRIDES, json.dumps(dict(overrides)).encode())

    def changes_since(self, seen: Mapping[str, int]) -> SharedChanges | None:
        """What was published after the versions in ``seen`` (None: nothing)."""
        versions = self.table.versions()
        changed = {part for part, v in versions.items() if seen.get(part) != v}
        if not changed:
            return None
        weights_changed = bool(changed & {WEIGHTS, OVERRIDES})
        rows = self.table.read(changed | ({WEIGHTS, OVERRIDES} if weights_changed else set()))
        versions.update({part: v for part, (v, _) in rows.items()})  # what was actually read
        weights = None
        if weights_changed:
            base = json.loads(rows[WEIGHTS][1]) if WEIGHTS in rows else {}
            overrides = json.loads(rows[OVERRIDES][1]) if OVERRIDES in rows else {}
            weights = SharedWeights(
                importance=base.get("importance"),
                round_id=base.get("round_id"),
                overrides=overrides,
            )
        model = decode_model(rows[MODEL][1]) if MODEL in changed and MODEL in rows else None
        return SharedChanges(versions=versions, weights=weights, model=model)
