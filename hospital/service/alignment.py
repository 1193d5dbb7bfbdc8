"""The hospital's alignment book: PSI items from the case store, results kept and recorded.

The PSI party asks for items per purpose; the book answers from the EMR library (pathology
signatures of diagnosed, non-pending cases; national-id tokens of patients). Each run's
result is written atomically under the data directory (it holds the hospital's own items
and the salt of its ledger commitment, so it never leaves the hospital). The latest
pathology run's shared-set hash is signed for the ledger (EIP-712 ``Alignment``) with the
number of this hospital's cases that carry a shared signature (miners and the ledger cap the
sample count of its updates by it; several cases can share one signature, so the count of
shared *items* would under-weight large hospitals) and the unique-patient fraction u of
those cases from the latest patient-token run, signed again when a later patient run changes
u (the ledger scales the hospital's credits by u). The signed record goes back to the relay
in the receipt and the relay records it (``recordAlignment``): a hospital never records its
own weight, and a relay cannot record one the hospital did not sign.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from hospital.alignment.items import (
    PPM,
    AlignmentPurpose,
    cases_to_train_on,
    pathology_items,
    unique_patient_ppm,
)
from hospital.alignment.messages import LedgerAlignment
from hospital.alignment.party import PartyResult
from hospital.alignment.receipts import LedgerDomain, signed_record
from hospital.emr.records import CaseRecord, Origin
from hospital.emr.store import CaseStore
from node.chain.client import LedgerClient
from node.errors import ValidationFailed

#: Signs what the relay will record: (run, shared-set hash, shared cases, unique ppm).
RecordSigner = Callable[[int, bytes, int, int], LedgerAlignment]


class AlignmentBook:
    """Feeds one hospital's PSI party and remembers what each purpose's latest run learned."""

    def __init__(
        self,
        store: CaseStore,
        results_dir: Path,
        *,
        sign: RecordSigner | None = None,
    ) -> None:
        self.store = store
        self.results_dir = Path(results_dir)
        self.results_dir.mkdir(parents=True, exist_ok=True)
        self._sign = sign

    def _training_library(self) -> list[CaseRecord]:
        # Pending cases are a doctor's unconfirmed findings: they neither align nor train.
        return [c for c in self.store.iter_cases() if c.origin is not Origin.PENDING]

    def items_for(self, purpose: AlignmentPurpose) -> list[bytes]:
        """The hospital's PSI items for ``purpose``."""
        if purpose is AlignmentPurpose.PATHOLOGY:
            return pathology_items(c for c in self._training_library() if c.diagnosis)
        return [bytes.fromhex(token) for token in self.store.national_tokens().values()]

    def _path(self, purpose: AlignmentPurpose) -> Path:
        return self.results_dir / f"latest-{purpose.value}.json"

    def on_result(self, result: PartyResult) -> LedgerAlignment | None:
        """Keep a checked ``result`` as the latest of its purpose (atomic write); sign it.

        Either purpose signs the latest pathology result (if any) with the current u.
        Returns those values signed by the hospital (None without a signer or before any
        pathology run), for the receipt the relay collects and records.
        """
        self._write(self._path(result.purpose), result.model_dump_json())
        pathology = self.latest(AlignmentPurpose.PATHOLOGY)
        if pathology is None:
            return None
        shared = self.training_cases(min_other_holders=pathology.min_other_holders)
        unique = self.unique_ppm(shared)
        signed = None
        if self._sign is not None:
            run = ledger_run_id(pathology.run)
            signed = self._sign(run, pathology.shared_set_hash, len(shared), unique)
        self._write(self._recorded_path(), str(len(shared)))
        return signed

    def _write(self, path: Path, text: str) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.results_dir, prefix=".tmp-")
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)

    def _recorded_path(self) -> Path:
        return self.results_dir / "recorded-shared-cases"

    def recorded_shared_cases(self) -> int:
        """How many own cases the latest pathology result was recorded with (0 before any).

        Cases added later (doctors' feedback) are not counted until the next alignment, so
        a claim capped by this never exceeds what the ledger holds.
        """
        path = self._recorded_path()
        return int(path.read_text()) if path.exists() else 0

    def unique_ppm(self, shared: list[CaseRecord]) -> int:
        """The unique-patient fraction (ppm) of the shared cases; 10^6 before a patient run."""
        patients = self.latest(AlignmentPurpose.PATIENTS)
        if patients is None:
            return PPM
        tokens = {p: bytes.fromhex(t) for p, t in self.store.national_tokens().items()}
        return unique_patient_ppm(shared, tokens, patients.holders_by_item())

    def latest(self, purpose: AlignmentPurpose) -> PartyResult | None:
        """The latest run's result for ``purpose``, if any run finished."""
        path = self._path(purpose)
        if not path.exists():
            return None
        return PartyResult.model_validate_json(path.read_text())

    def training_cases(self, *, min_other_holders: int) -> list[CaseRecord]:
        """The shared samples: cases whose signature enough other hospitals hold.

        Without any pathology alignment yet, nothing is shared and the list is empty.
        """
        result = self.latest(AlignmentPurpose.PATHOLOGY)
        if result is None:
            return []
        holders = result.holders_by_item()
        return cases_to_train_on(
            self._training_library(), holders, min_other_holders=min_other_holders
        )


def ledger_run_id(run: str) -> int:
    """The ledger's uint64 run number for a PSI run id (which must be a decimal number)."""
    if not run.isdigit() or int(run) >= 2**64:
        raise ValidationFailed(
            f"alignment run {run!r} is not a uint64 number",
            field="run",
            fix="start alignment runs with a numeric run id (e.g. the round number)",
        )
    return int(run)


def sign_with(ledger: LedgerClient) -> RecordSigner:
    """Sign alignment records as ``ledger``'s account, bound to its chain and address."""
    domain = LedgerDomain(chain_id=ledger.sender.chain_id, ledger=ledger.address)

    def sign(
        run: int, shared_set_hash: bytes, shared_size: int, unique_ppm: int
    ) -> LedgerAlignment:
        return signed_record(
            ledger.account,
            domain,
            run=run,
            shared_set_hash=shared_set_hash,
            shared_size=shared_size,
            unique_ppm=unique_ppm,
        )

    return sign
