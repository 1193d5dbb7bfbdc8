"""The hospital's side of a round: fetch, train, encrypt, sign, send; check; apply the seal.

The local trainer is pluggable (``train(global_weights) -> (delta, sample_count)`` and
``evaluate(weights) -> float`` on the hold-out split); torch stays in hospital/training.
``RoundClient.tick()`` is driven by the chain like a miner's: it joins an open round once,
rebuilds the committed round's candidate model itself from the aggregate and the miners'
partial decryptions, reports its hold-out metrics, and applies the sealed model only if it
is that candidate (a sealed hash it did not derive itself is refused, logged and reported
in ``refused``). When its paired miner has not proposed its update on chain
``fallback_after`` seconds after it was sent, it sends the same signed update through the
next miner of ``fallbacks``, so one miner cannot censor it.
A restarted client recognises its own update of the open round (on chain, or in its
``SubmissionJournal``) and its own hold-out report, so it neither trains nor sends twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from hospital.roundjournal import SubmissionJournal
from hospital.roundlink import MinerLink
from node.blobnet import get_blob
from node.blobstore import BlobStore, MemoryBlobStore
from node.chain.client import LedgerClient
from node.chain.ledgerview import LedgerView, Phase, RoundView, UpdateView
from node.chain.tx import ContractReverted
from node.crypto import NotEnoughShares, ObfuscatorPool, ThresholdPublicKey, encrypt_update
from node.crypto.errors import MalformedBlob, PackingOutOfRange
from node.errors import FedchainError, NotFound
from node.fedopt import GlobalModel, decode_global_model, model_hash
from node.modelspec import ModelSpec, decode_model_spec
from node.roundmath import PublishedPartial, candidate_model, share_index
from node.roundwire import ReceiptStatus, UpdateReceipt, UpdateSubmission, b64

log = logging.getLogger(__name__)

Trainer = Callable[[np.ndarray], tuple[np.ndarray, int]]
Evaluator = Callable[[np.ndarray], float]
PPM = 1_000_000


def to_ppm(metric: float) -> int:
    """A metric in [0, 1] (higher is better) as the integer ppm the ledger records."""
    return int(round(float(metric) * PPM))


@dataclass
class RoundClient:
    """One hospital in the federation: its ledger client, its miner link, its trainer."""

    ledger: LedgerClient
    link: MinerLink
    public_key: ThresholdPublicKey
    train: Trainer
    evaluate: Evaluator
    from_block: int = 0
    journal: SubmissionJournal | None = None  # the update being sent, kept across restarts
    fallbacks: Sequence[MinerLink] = ()  # other miners, tried when the paired one is silent
    fallback_after: float = 30.0  # seconds to wait for the update on chain before the next
    clock: Callable[[], float] = time.monotonic
    view: LedgerView = field(default_factory=LedgerView)
    store: BlobStore = field(default_factory=MemoryBlobStore)
    model: GlobalModel | None = None  # the latest applied global model
    applied_round: int = 0  # the ledger round it was sealed in (model.round counts seals only)
    receipts: dict[int, UpdateReceipt] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)  # round -> why its seal was refused
    timings: dict[str, float] = field(default_factory=dict)
    _sent: dict[int, tuple[float, int]] = field(default_factory=dict)  # round -> (when, via)
    _submissions: dict[int, UpdateSubmission] = field(default_factory=dict)
    _candidates: dict[int, GlobalModel] = field(default_factory=dict)
    _reported: set[int] = field(default_factory=set)

    def blob(self, digest: str) -> bytes:
        """A blob via the paired miner, hash checked, cached locally."""
        return get_blob(digest, self.store, self.link)

    def spec(self, r: RoundView) -> ModelSpec:
        """The round's model spec."""
        return decode_model_spec(self.blob(r.spec_hash))

    def global_model(self, digest: str) -> GlobalModel:
        """The global model whose hash is on chain (the blob's hash is checked on fetch)."""
        return decode_global_model(self.blob(digest))

    def tick(self) -> None:
        """Catch up with the chain and do what the current round needs from this hospital."""
        self.view.catch_up(self.ledger, self.from_block)
        r = self.view.rounds.get(self.view.current_round)
        if r is None:
            return
        try:
            self._step(r)
        except NotFound as exc:  # a blob not replicated yet, or the miner down: next tick
            log.info("round %s: waiting: %s", r.round, exc)

    @property
    def address(self) -> str:
        """The hospital's account address."""
        return str(self.ledger.account.address)

    def own_update(self, r: RoundView) -> UpdateView | None:
        """The update of round ``r`` this client sent (per its journal) as the chain has it.

        Only an update whose blob is the one kept in the journal counts: an update proposed
        for this hospital that it did not send (a miner replaying it) is not taken as its own,
        so the hospital still sends and the miners' refusal is recorded on chain.
        """
        kept = self.sent_submission(r.round)
        if kept is None:
            return None
        me, blob = self.address.lower(), kept.blob_hash.lower().removeprefix("0x")
        return next(
            (u for u in r.updates.values() if u.hospital.lower() == me and u.blob_hash == blob),
            None,
        )

    def sent_submission(self, round_id: int) -> UpdateSubmission | None:
        """The submission this client made for ``round_id`` (journal first, then memory)."""
        kept = self.journal.sent(round_id) if self.journal is not None else None
        return kept or self._submissions.get(round_id)

    def _step(self, r: RoundView) -> None:
        if r.phase is Phase.OPEN and r.round in self.receipts:
            self.fall_back_if_censored(r)
        elif r.phase is Phase.OPEN:
            own = self.own_update(r)
            if own is None:
                self.participate(r)
            else:  # sent before a restart: the chain has it, nothing to train or send
                self.receipts[r.round] = UpdateReceipt(
                    status=ReceiptStatus.PROPOSED,
                    round=r.round,
                    blob_hash=own.blob_hash,
                    update_id=own.update_id,
                    detail="recognised on chain after a restart",
                )
                log.warning(
                    "round %s: our update %s is already on chain (update %s); "
                    "not training or sending again",
                    r.round,
                    own.blob_hash[:12],
                    own.update_id,
                )
        elif r.phase is Phase.COMMITTED and r.round not in self._reported:
            if any(h.lower() == self.address.lower() for h in r.holdout):
                self._reported.add(r.round)  # reported before a restart
                return
            self.report_holdout(r)
        elif r.phase is Phase.SEALED and self.applied_round < r.round:
            if r.round not in self.refused:
                self.apply(r)

    # ------------------------------------------------------------ steps 2-3
    def make_submission(self, r: RoundView) -> UpdateSubmission:
        """Train on the global model, encrypt n·Δ's packing, sign: the message to the miner."""
        spec = self.spec(r)
        start = self.global_model(r.prev_model_hash)
        pool = ObfuscatorPool(self.public_key.n)
        count = spec.packing().ciphertext_count(spec.n_params, self.public_key.n_bits)
        filler = threading.Thread(target=pool.fill, args=(count,), daemon=True)
        t0 = time.perf_counter()
        filler.start()  # obfuscators are computed while the model trains
        delta, samples = self.train(start.weights.copy())
        t1 = time.perf_counter()
        filler.join()
        t2 = time.perf_counter()
        blob = encrypt_update(
            self.public_key,
            spec.packing(),
            np.asarray(delta, np.float64),
            weight=int(samples),
            pool=pool,
            clip_out_of_range=True,
        )
        t3 = time.perf_counter()
        self.timings.update(train=t1 - t0, encrypt=(t2 - t1) + (t3 - t2))
        digest = self.store.put(blob)
        signature = self.ledger.sign_update(r.round, digest, int(samples))
        return UpdateSubmission(
            round=r.round,
            blob_hash=digest,
            sample_count=int(samples),
            signature="0x" + signature.hex(),
            blob_b64=b64(blob),
        )

    def participate(self, r: RoundView) -> UpdateReceipt:
        """Make and send this round's update once; remember the miner's receipt.

        With a journal the submission is kept on disk before it is sent, and a submission
        already kept for this round (sent before a restart) is sent again as it is.
        """
        kept = self.journal.sent(r.round) if self.journal is not None else None
        if kept is not None:
            log.warning(
                "round %s: resending the update kept before a restart (%s)",
                r.round,
                kept.blob_hash[:12],
            )
            submission = kept
        else:
            submission = self.make_submission(r)
            if self.journal is not None:
                self.journal.keep(submission)
        self._submissions[r.round] = submission
        receipt = self._submit(self.link, submission)
        self.receipts[r.round] = receipt
        self._sent[r.round] = (self.clock(), 0)
        if receipt.status is not ReceiptStatus.PROPOSED:
            log.warning("round %s: miner refused our update: %s", r.round, receipt.reason)
        return receipt

    def _submit(self, link: MinerLink, submission: UpdateSubmission) -> UpdateReceipt:
        try:
            return link.submit(submission)
        except FedchainError as exc:  # the miner is down or unreachable: a fallback may help
            return UpdateReceipt(
                status=ReceiptStatus.REFUSED,
                round=submission.round,
                blob_hash=submission.blob_hash,
                reason="UNREACHABLE",
                detail=str(exc),
            )

    def fall_back_if_censored(self, r: RoundView) -> None:
        """Send the same signed update through the next miner if it is still not on chain.

        Whatever the paired miner answered (a receipt can lie), only an UpdateProposed for
        this hospital's blob counts. Each fallback gets ``fallback_after`` seconds in turn.
        """
        if not self.fallbacks or self.own_update(r) is not None or r.round not in self._sent:
            return
        if any(u.hospital.lower() == self.address.lower() for u in r.updates.values()):
            return  # proposed, with another blob: a replay the miners refuse; nothing to add
        when, via = self._sent[r.round]
        if self.clock() - when < self.fallback_after or via >= len(self.fallbacks):
            return
        submission = self.sent_submission(r.round)
        if submission is None:
            return
        log.warning(
            "round %s: our update is not on chain %.0f s after sending; sending it through "
            "fallback miner %d",
            r.round,
            self.clock() - when,
            via + 1,
        )
        self.receipts[r.round] = self._submit(self.fallbacks[via], submission)
        self._sent[r.round] = (self.clock(), via + 1)

    # ------------------------------------------------------------ hold-out (step 6)
    def candidate(self, r: RoundView) -> GlobalModel | None:
        """The committed round's candidate model, rebuilt here (None until it can be).

        Built from the committed aggregate and the partials the miners published, each
        verified for the share of the miner that published it; an aggregate whose decrypted
        slots lie outside what its weights allow gives no candidate, ever (the round is
        refused: see ``refused``).
        """
        if r.round in self._candidates:
            return self._candidates[r.round]
        if r.round in self.refused:
            return None
        try:
            agg = self.blob(r.aggregate_hash)
            published = []
            for miner, hashes in r.partials.items():
                submitter = share_index(self.view.miner_index(miner))
                for digest in hashes:
                    try:
                        published.append(PublishedPartial(submitter, self.blob(digest)))
                    except NotFound:  # a partial that never got out of a dead miner
                        continue
            model, _, _ = candidate_model(
                self.public_key, agg, published, self.global_model(r.prev_model_hash), self.spec(r)
            )
        except (NotEnoughShares, NotFound):
            return None
        except (PackingOutOfRange, MalformedBlob) as exc:
            self.refused[r.round] = f"the committed aggregate cannot be a model: {exc.message}"
            log.error("round %s: %s", r.round, self.refused[r.round])
            return None
        self._candidates[r.round] = model
        return model

    def report_holdout(self, r: RoundView) -> None:
        """Evaluate the current and the candidate model on the hold-out split; report both."""
        model = self.candidate(r)
        if model is None:
            return
        before = to_ppm(self.evaluate(self.global_model(r.prev_model_hash).weights))
        after = to_ppm(self.evaluate(model.weights))
        try:
            self.ledger.report_holdout(r.round, model_hash(model), before, after)
        except ContractReverted as exc:
            log.info("hold-out report not recorded: %s", exc)
        self._reported.add(r.round)

    # ------------------------------------------------------------ step 6: apply
    def apply(self, r: RoundView) -> GlobalModel | None:
        """Take the sealed model, only if it is the candidate this hospital derived itself.

        A sealed hash this hospital did not derive from the committed aggregate and the
        published partials is refused: never applied, never served to its doctors; the
        reason is logged and kept in ``refused`` (the hospital's status shows it).
        """
        own = self.candidate(r)
        if own is None:
            return None  # not derivable yet (a blob on its way); tried again next tick
        if model_hash(own).hex() != r.sealed_hash:
            self.refused[r.round] = (
                f"sealed model {r.sealed_hash[:12]} is not the candidate "
                f"{model_hash(own).hex()[:12]} this hospital derived from the round's aggregate"
            )
            log.error("round %s: refusing the seal: %s", r.round, self.refused[r.round])
            return None
        self.model = own
        self.applied_round = r.round
        return self.model
