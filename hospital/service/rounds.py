"""The hospital service's round participation: a background RoundClient over its shared cases.

Off unless configured (``FEDCHAIN_ROUND_MINER_URL`` and ``FEDCHAIN_ROUND_PUBLIC_KEY``). A
thread ticks a ``RoundClient`` whose ``train`` / ``evaluate`` are a ``CaseTrainer`` over the
cases the latest pathology alignment shares with enough other hospitals; after each sealed
model is applied, the diagnosis service gets the new model and attribute weights.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from diagnosis.service import DiagnosisService
from hospital.models import build_model
from hospital.round import Evaluator, RoundClient, Trainer
from hospital.service.alignment import AlignmentBook
from hospital.service.consortium_model import (
    CaseTrainer,
    attribute_columns,
    case_data,
    diagnosis_model,
    model_layout,
    sealed_network,
)
from hospital.service.shared_diagnosis import SqlSharedDiagnosis
from hospital.training import LocalOptimizer, TrainConfig, flatten, parameter_count
from node.errors import ValidationFailed
from node.fedopt import model_hash

log = logging.getLogger(__name__)


class RoundSettings(BaseSettings):
    """``FEDCHAIN_ROUND_*``: the paired miner, the consortium key and the local training."""

    model_config = SettingsConfigDict(env_prefix="FEDCHAIN_ROUND_", extra="ignore")

    miner_url: str | None = Field(default=None, description="this hospital's paired miner")
    fallback_miners: str = Field(
        default="",
        description="comma-separated URLs of other miners, tried in turn when the paired one "
        "has not proposed this hospital's update on chain within fallback_after seconds",
    )
    fallback_after: float = Field(default=30.0, gt=0, description="seconds before a fallback")
    public_key: Path | None = Field(default=None, description="consortium.pub of the ceremony")
    hidden: list[int] = Field(default=[16], description="hidden layer sizes of the BP model")
    schema_name: Literal["general", "uci-heart"] = Field(
        default="general",
        validation_alias=AliasChoices("FEDCHAIN_ROUND_SCHEMA", "schema_name"),
        description="the consortium schema the model's V1/V2 are built on",
    )
    train: TrainConfig = Field(
        default=TrainConfig(epochs=8, batch_size=16, optimizer=LocalOptimizer.ADAM, lr=5e-3),
        description="local training per round (JSON)",
    )
    min_other_holders: int = Field(default=1, ge=0, description="shared-sample threshold")
    tick: float = Field(default=1.0, gt=0, description="seconds between chain polls")

    @property
    def fallback_urls(self) -> list[str]:
        """The fallback miners' base URLs."""
        return [u.strip() for u in self.fallback_miners.split(",") if u.strip()]

    @property
    def enabled(self) -> bool:
        """Rounds run only when both the miner and the key are configured."""
        return bool(self.miner_url) and self.public_key is not None


def initial_weights(hidden: list[int], seed: int = 0, schema_name: str = "general") -> np.ndarray:
    """The seeded initial consortium model as a flat float32 vector (the genesis weights)."""
    _, _, spec = model_layout(hidden, schema_name)
    return np.asarray(flatten(build_model(spec, seed)).numpy(), np.float32)


class RoundParticipation(BaseModel):
    """What /rounds reports."""

    enabled: bool
    current_round: int = 0
    phase: str = ""
    applied_round: int = 0
    applied_model_hash: str = ""  # hex sha256 of the applied global model, as sealed on chain
    shared_samples: int = 0
    receipts: dict[int, str] = {}
    refused_seals: dict[int, str] = {}  # rounds whose sealed model was not this hospital's own
    holdout_accuracy: float | None = None
    last_error: str = ""


class HospitalRounds:
    """Trains on the shared cases when a round opens; refreshes diagnosis after each seal."""

    def __init__(
        self,
        *,
        book: AlignmentBook,
        service: DiagnosisService,
        settings: RoundSettings,
        client_factory: Callable[[Trainer, Evaluator], RoundClient],
    ) -> None:
        self.book = book
        self.service = service
        self.settings = settings
        self.v1, self.v2, self.spec = model_layout(settings.hidden, settings.schema_name)
        self.client: RoundClient = client_factory(self.train, self.evaluate)
        self._trainer: CaseTrainer | None = None
        self._trained_on: frozenset[str] = frozenset()
        self._applied = 0
        self._applied_hash = ""
        self._holdout: float | None = None
        self._error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ trainer
    def trainer(self) -> CaseTrainer:
        """A CaseTrainer over the current shared cases (rebuilt when they change)."""
        cases = self.book.training_cases(min_other_holders=self.settings.min_other_holders)
        ids = frozenset(c.case_id or "" for c in cases)
        if self._trainer is None or ids != self._trained_on:
            self._trainer = CaseTrainer(
                self.spec, case_data(cases, self.v1, self.v2), self.settings.train
            )
            self._trained_on = ids
        return self._trainer

    def _check(self, weights: np.ndarray) -> None:
        expected = parameter_count(build_model(self.spec, 0))
        if weights.size != expected:
            raise ValidationFailed(
                f"the round's model has {weights.size} parameters, this hospital's "
                f"consortium model (hidden {self.settings.hidden}) has {expected}",
                field="FEDCHAIN_ROUND_HIDDEN",
                fix="use the consortium's hidden sizes",
            )

    def aligned_size(self) -> int:
        """How many shared cases the latest pathology alignment recorded on chain."""
        return self.book.recorded_shared_cases()

    def train(self, weights: np.ndarray) -> tuple[np.ndarray, int]:
        """The round client's trainer: Δ and the sample count it is weighted by.

        The claimed count (the update's weight and its reward) is capped at the shared cases
        the ledger recorded, which miners enforce: cases added since (doctors' feedback)
        train but are claimed only after the next alignment records them.
        """
        self._check(weights)
        delta, trained = self.trainer().train(weights)
        return delta, min(trained, self.aligned_size())

    def evaluate(self, weights: np.ndarray) -> float:
        """Hold-out diagnosis accuracy of ``weights``."""
        self._check(weights)
        return self.trainer().evaluate(weights)

    # ------------------------------------------------------------ ticking
    def tick(self) -> None:
        """One step of the round client, then a diagnosis refresh if a new model was applied."""
        self.client.tick()
        model, applied = self.client.model, self.client.applied_round
        if model is not None and applied > self._applied:
            self.refresh_diagnosis(model.weights, applied, sealed_hash=model_hash(model).hex())

    def refresh_diagnosis(
        self, weights: np.ndarray, round_id: int, *, sealed_hash: str = ""
    ) -> None:
        """Give the diagnosis service the sealed model and the attribute weights it implies."""
        shared = self.service.shared
        if isinstance(shared, SqlSharedDiagnosis):  # every worker on this database follows
            shared.publish_round(
                weights,
                round_id=round_id,
                hidden=self.settings.hidden,
                schema_name=self.settings.schema_name,
            )
            self.service.follow_shared()
        else:
            net, v1, v2 = sealed_network(weights, self.settings.hidden, self.settings.schema_name)
            self.service.set_model(diagnosis_model(net, v1, v2))
            self.service.weights.on_round_sealed(net, attribute_columns(v1), round_id=round_id)
        if self._trainer is not None:
            self._holdout = self._trainer.evaluate(weights)
        self._applied, self._applied_hash = round_id, sealed_hash
        log.info("round %s applied: diagnosis refreshed", round_id)

    def status(self) -> RoundParticipation:
        """Where this hospital is in the rounds."""
        view = self.client.view
        r = view.rounds.get(view.current_round)
        return RoundParticipation(
            enabled=True,
            current_round=view.current_round,
            phase=r.phase.value if r else "",
            applied_round=self._applied,
            applied_model_hash=self._applied_hash,
            shared_samples=len(self._trained_on),
            receipts={k: v.status.value for k, v in self.client.receipts.items()},
            refused_seals=dict(self.client.refused),
            holdout_accuracy=self._holdout,
            last_error=self._error,
        )

    def start(self) -> None:
        """Tick in a background thread until ``stop``."""

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.tick()
                    self._error = ""
                except Exception as exc:  # noqa: BLE001 - a failed tick is retried next time
                    error = f"{type(exc).__name__}: {exc}"
                    if error != self._error:  # once per distinct failure, not every tick
                        log.warning("round tick failed (retrying): %s", error)
                    self._error = error
                self._stop.wait(self.settings.tick)

        self._thread = threading.Thread(target=loop, name="round-client", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
