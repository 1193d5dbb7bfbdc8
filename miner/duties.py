"""A miner's duties, driven by the chain: verify, pack, attest, decrypt, seal or reject.

``MinerNode.tick()`` folds new events into its LedgerView (from a block cursor) and does
whatever the current round asks of this miner. Everything it knows is rebuilt from the
chain and its blob store, so a restarted miner (a fresh MinerNode) catches up and resumes.

What an honest miner refuses to do, whoever asks (the round's state machine is described in
docs/design.md, "The round's state machine"):
- decrypt an aggregate it did not recompute itself from the accepted updates, before a quorum
  of miners attested it on chain, or one that sums fewer than two updates;
- count a partial decryption whose proof does not verify for its publisher's share;
- attest or seal a candidate model other than the one it derived itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from miner.checks import Claim, HospitalFacts, RoundFacts, UpdateRefused, check_update
from node.blobnet import BlobPeers, get_blob
from node.blobstore import BlobStore
from node.chain.client import LedgerClient
from node.chain.holdout import Verdict, tally_of, verdict
from node.chain.ledgerview import LedgerView, Phase, RoundView, UpdateView
from node.chain.tx import ContractReverted
from node.crypto import (
    KeyShareRecord,
    MalformedBlob,
    NotEnoughShares,
    PartialDecryption,
    ThresholdPublicKey,
    aggregate_updates,
    assign_ciphertexts,
    partial_decrypt,
)
from node.crypto.codec import decode_aggregate
from node.crypto.errors import InvalidPartialDecryption, PackingOutOfRange
from node.errors import NotFound
from node.fedopt import GlobalModel, decode_global_model
from node.modelspec import ModelSpec, decode_model_spec
from node.roundmath import (
    PublishedPartial,
    candidate_model,
    missing_ciphertexts,
    share_index,
    verify_published,
)

log = logging.getLogger(__name__)


@dataclass
class MinerNode:
    """One miner: its ledger client (its account), blob store, peers and key share."""

    ledger: LedgerClient
    store: BlobStore
    peers: BlobPeers
    public_key: ThresholdPublicKey
    share: KeyShareRecord
    partial_grace: float = 3.0  # seconds before covering ciphertexts a silent miner left
    from_block: int = 0
    clock: Callable[[], float] = time.monotonic
    view: LedgerView = field(default_factory=LedgerView)
    _specs: dict[str, ModelSpec] = field(default_factory=dict)
    _decrypt_started: dict[int, float] = field(default_factory=dict)
    _bad: set[int] = field(default_factory=set)  # votes the ledger refused: do not resend
    _own_aggregates: dict[int, str] = field(default_factory=dict)  # round -> recomputed hash
    _candidates: dict[int, str] = field(default_factory=dict)  # round -> candidate hash
    _unsealable: dict[int, str] = field(default_factory=dict)  # round -> why no candidate
    _verified: dict[str, PartialDecryption | None] = field(default_factory=dict)
    _quorums: dict[int, int] = field(default_factory=dict)

    @property
    def me(self) -> str:
        """The address of this miner."""
        return str(self.ledger.account.address)

    # ------------------------------------------------------------ helpers
    def blob(self, digest: str) -> bytes:
        """A blob from the local store or a peer (hash checked either way)."""
        return get_blob(digest, self.store, self.peers)

    def publish(self, blob: bytes) -> str:
        """Store a blob locally and replicate it to the peers; returns its hash."""
        digest = self.store.put(blob)
        self.peers.push(blob)
        return digest

    def spec(self, spec_hash: str) -> ModelSpec:
        """The round's ModelSpec, read from its blob."""
        if spec_hash not in self._specs:
            self._specs[spec_hash] = decode_model_spec(self.blob(spec_hash))
        return self._specs[spec_hash]

    def previous_model(self, r: RoundView) -> GlobalModel:
        """The global model the round starts from."""
        return decode_global_model(self.blob(r.prev_model_hash))

    def now(self) -> int:
        """Latest block timestamp."""
        return int(self.ledger.w3.eth.get_block("latest")["timestamp"])

    def quorum(self, r: RoundView) -> int:
        """The quorum the round was opened with (read once)."""
        if r.round not in self._quorums:
            self._quorums[r.round] = self.ledger.round(r.round).quorum
        return self._quorums[r.round]

    def round_facts(self, r: RoundView, now: int, exclude: int | None = None) -> RoundFacts:
        """The chain facts a claim for round ``r`` is checked against (but proposal ``exclude``)."""
        return RoundFacts(
            chain_id=self.ledger.sender.chain_id,
            ledger=self.ledger.address,
            current_round=self.view.current_round,
            open=r.phase is Phase.OPEN,
            deadline=r.deadline,
            now=now,
            spec=self.spec(r.spec_hash),
            weight_left=r.weight_left(exclude),
            max_share_ppm=self.view.max_share_ppm,
            proposed=sum(1 for u in r.updates.values() if u.update_id != exclude),
            max_updates=r.max_updates,
        )

    def hospital_facts(self, hospital: str, blob_hash: str, exclude: int | None) -> HospitalFacts:
        """The chain facts about a hospital, ignoring the proposal ``exclude`` itself."""
        others = [
            u
            for r in self.view.rounds.values()
            for u in r.updates.values()
            if u.update_id != exclude
        ]
        current = self.view.rounds.get(self.view.current_round)
        size = self.view.shared_size.get(hospital.lower())
        return HospitalFacts(
            registered=self.view.is_active_hospital(hospital),
            aligned=size is not None,
            shared_size=size or 0,
            proposed_this_round=current is not None
            and any(
                u.hospital.lower() == hospital.lower()
                for u in current.updates.values()
                if u.update_id != exclude
            ),
            blob_seen=any(u.blob_hash == blob_hash for u in others),
        )

    # ------------------------------------------------------------ the loop
    def tick(self) -> None:
        """Catch up with the chain and do this round's duties (each step idempotent)."""
        self.view.catch_up(self.ledger, self.from_block)
        r = self.view.rounds.get(self.view.current_round)
        if r is None or self.me not in self.view.active_miners():
            return
        if r.phase is Phase.OPEN:
            self.verify_pending(r)
            self.pack_if_chosen(r)
        elif r.phase is Phase.COMMITTED:
            self.attest(r)
            self.decrypt(r)
            self.attest_candidate(r)
            self.seal_if_due(r)

    # ------------------------------------------------------------ 6.2 cross-validation
    def verify_pending(self, r: RoundView) -> None:
        """Check every pending update this miner has not voted on; approve in one batch.

        Updates already accepted are skipped: the ledger pays verification up to the quorum.
        """
        todo = [
            u
            for u in r.updates.values()
            if self.me not in u.voters
            and not u.refused
            and not u.accepted
            and u.update_id not in self._bad
        ]
        approve: list[int] = []
        now = self.now()
        for u in todo:
            try:
                blob = self.blob(u.blob_hash)
            except NotFound:
                continue  # not replicated yet; the proposer's miner may be slow
            try:
                facts = self.round_facts(r, min(now, r.deadline), exclude=u.update_id)
                check_update(
                    self._claim(u),
                    blob,
                    facts,
                    self.hospital_facts(u.hospital, u.blob_hash, u.update_id),
                    self.public_key,
                )
            except UpdateRefused as refused:
                log.info("rejecting update %s: %s", u.update_id, refused)
                self._vote(
                    partial(self.ledger.reject_update, u.update_id, refused.reason.value),
                    u.update_id,
                )
                continue
            approve.append(u.update_id)
        if approve:
            self._vote(partial(self.ledger.approve_updates, approve), None)

    def _claim(self, u: UpdateView) -> Claim:
        return Claim(u.hospital, u.round, bytes.fromhex(u.blob_hash), u.sample_count, u.signature)

    def _vote(self, send: Callable[[], object], update_id: int | None) -> None:
        try:
            send()
        except ContractReverted as exc:  # closed or already voted: the view will catch up
            log.info("vote not recorded: %s", exc)
            if update_id is not None:
                self._bad.add(update_id)

    # ------------------------------------------------------------ 6.3 packing
    def aggregate(self, r: RoundView) -> bytes:
        """The homomorphic weighted sum of the round's accepted updates, weights capped."""
        blobs = [self.blob(u.blob_hash) for u in r.accepted()]
        return aggregate_updates(self.public_key, blobs, max_share_ppm=self.view.max_share_ppm)

    def pack_if_chosen(self, r: RoundView) -> None:
        """If the contract lets this miner pack now, aggregate and commit the hash."""
        if not r.ready_at:
            if self.now() > r.deadline:  # never got ready: the miner whose turn it is rejects
                self._reject(r, "NOT_READY_BY_DEADLINE")
            return
        if not self.ledger.may_pack(r.round, self.me):
            return
        blob = self.aggregate(r)
        digest = self.publish(blob)
        try:
            self.ledger.commit_aggregate(r.round, digest, len(r.accepted()))
        except ContractReverted as exc:
            log.info("commit not accepted (retrying next tick): %s", exc)

    def own_aggregate(self, r: RoundView) -> str | None:
        """The hash of the aggregate this miner recomputes from the accepted updates."""
        if r.round not in self._own_aggregates:
            try:
                self._own_aggregates[r.round] = self.store.put(self.aggregate(r))
            except NotFound:
                return None  # an accepted update's blob is not here yet
        return self._own_aggregates[r.round]

    def committed_aggregate_is_mine(self, r: RoundView) -> bool:
        """Whether the committed aggregate is byte for byte the one this miner recomputed."""
        mine = self.own_aggregate(r)
        if mine is not None and mine != r.aggregate_hash:
            self._unsealable.setdefault(
                r.round,
                f"AGGREGATE_MISMATCH: committed {r.aggregate_hash[:12]}, recomputed {mine[:12]}",
            )
        return mine == r.aggregate_hash

    def attest(self, r: RoundView) -> None:
        """Recompute the aggregate; attest the committed hash if it matches."""
        if self.me in r.attesters:
            return
        if not self.committed_aggregate_is_mine(r):
            if r.round in self._unsealable:
                log.warning("round %s: %s; not attesting", r.round, self._unsealable[r.round])
            return
        try:
            self.ledger.attest_aggregate(r.round, r.aggregate_hash)
        except ContractReverted as exc:
            log.info("attestation not recorded: %s", exc)

    # ------------------------------------------------------------ threshold decryption
    def decrypt(self, r: RoundView) -> None:
        """Post this miner's assigned partial; after the grace, cover what silent miners left.

        Only for an aggregate this miner recomputed itself and a quorum of miners attested on
        chain (the aggregate's format guarantees two contributions at least).
        """
        if len(r.attesters) < self.quorum(r) or not self.committed_aggregate_is_mine(r):
            return
        agg = self.blob(r.aggregate_hash)
        mine = share_index(self.view.miner_index(self.me))
        started = self._decrypt_started.setdefault(r.round, self.clock())
        posted = len(r.partials.get(self.me, []))
        if posted == 0:
            shares = [share_index(self.view.miner_index(m)) for m in self.view.active_miners()]
            n = len(decode_aggregate(agg, self.public_key).ciphertexts)
            plan = assign_ciphertexts(n, shares, self.public_key.threshold)
            self._post_partial(r, agg, list(plan.get(mine, ())))
            return
        if posted >= 2 or self.clock() - started < self.partial_grace:
            return  # the ledger takes one cover per miner and round
        missing = missing_ciphertexts(self.public_key, agg, self.verified_partials(r, agg))
        todo = sorted(j for j, covered in missing.items() if mine not in covered)
        if todo:
            log.info("round %s: covering %d ciphertexts left by silent miners", r.round, len(todo))
            self._post_partial(r, agg, todo)

    def _post_partial(self, r: RoundView, agg: bytes, indices: list[int]) -> None:
        if not indices:
            return
        blob = partial_decrypt(self.public_key, self.share, agg, indices=indices)
        digest = self.publish(blob)
        try:
            self.ledger.submit_partial_decryption(r.round, digest)
        except ContractReverted as exc:
            log.info("partial not recorded: %s", exc)

    def published_partials(self, r: RoundView) -> list[PublishedPartial]:
        """The round's partial blobs this miner can fetch, with their publishers' shares."""
        out = []
        for miner, hashes in r.partials.items():
            submitter = share_index(self.view.miner_index(miner))
            for digest in hashes:
                try:
                    out.append(PublishedPartial(submitter, self.blob(digest)))
                except NotFound:
                    continue
        return out

    def verified_partials(self, r: RoundView, agg: bytes) -> list[PartialDecryption]:
        """The round's published partials whose proofs verify for their publishers (cached)."""
        out = []
        for miner, hashes in r.partials.items():
            submitter = share_index(self.view.miner_index(miner))
            for digest in hashes:
                if digest not in self._verified:
                    try:
                        published = PublishedPartial(submitter, self.blob(digest))
                        self._verified[digest] = verify_published(self.public_key, agg, published)
                    except NotFound:
                        continue
                    except InvalidPartialDecryption as exc:
                        log.warning("round %s: %s refused: %s", r.round, miner, exc)
                        self._verified[digest] = None
                verified = self._verified[digest]
                if verified is not None:
                    out.append(verified)
        return out

    # ------------------------------------------------------------ candidate, seal, reject
    def candidate(self, r: RoundView) -> str | None:
        """The committed round's candidate model hash, derived here (None until it can be)."""
        digest = self._candidates.get(r.round)
        if digest is None and r.round not in self._unsealable:
            if len(r.attesters) < self.quorum(r) or not self.committed_aggregate_is_mine(r):
                return None
            try:
                agg = self.blob(r.aggregate_hash)
                _, blob, _ = candidate_model(
                    self.public_key,
                    agg,
                    self.published_partials(r),
                    self.previous_model(r),
                    self.spec(r.spec_hash),
                )
            except (NotEnoughShares, NotFound) as exc:
                log.info("round %s: no candidate yet: %s", r.round, exc)
                return None
            except (PackingOutOfRange, MalformedBlob) as exc:
                self._unsealable[r.round] = f"AGGREGATE_OUT_OF_RANGE: {exc.message}"
                log.warning("round %s: %s", r.round, self._unsealable[r.round])
                return None
            digest = self._candidates[r.round] = self.publish(blob)
            log.info("round %s: candidate %s", r.round, digest)
        return digest

    def attest_candidate(self, r: RoundView) -> None:
        """Attest the candidate this miner derived (once per round)."""
        if self.me in r.candidate_votes:
            return
        digest = self.candidate(r)
        if digest is None:
            return
        try:
            self.ledger.attest_candidate(r.round, digest)
        except ContractReverted as exc:
            log.info("candidate attestation not recorded: %s", exc)

    def seal_if_due(self, r: RoundView) -> None:
        """Seal this miner's candidate; reject the round if its hold-out failed or it stalled.

        Any miner rejects a failed hold-out at once (the contract verifies the tally); the
        packer seals, any miner one timeout after the commit, once a quorum of miners
        attested the same candidate; a round that cannot seal (no quorum of attestations,
        an aggregate out of range or not recomputable, no candidate) is rejected by the
        rotation two timeouts after the commit, the packer one timeout after.
        """
        info = self.ledger.round(r.round)
        now, timeout = self.now(), self.ledger.proposer_timeout()
        stalled = now >= info.committed_at + 2 * timeout
        if len(info.attestations) < info.quorum:
            # the packer may give up its own commit once the attestation window is over
            if stalled or (r.packer == self.me and now >= info.committed_at + timeout):
                why = self._unsealable.get(r.round, "no quorum of attestations")
                self._reject(r, f"STALLED: {why}")
            return
        waiting = r.packer != self.me and now < info.committed_at + timeout
        if waiting and not any(report.worse for report in r.holdout.values()):
            return  # nothing for this miner to do yet: only a failing tally needs it early
        digest = self.candidate(r)
        if digest is None:
            if stalled:
                why = self._unsealable.get(r.round, "no candidate model")
                self._reject(r, f"STALLED: {why}")
            return
        policy, _ = self.ledger.holdout_policy()
        tally = tally_of(r.holdout.values(), digest)
        judged = verdict(
            tally,
            total=len(r.holdout),
            policy=policy,
            accepted=info.accepted,
            window_over=now >= info.committed_at + timeout,
        )
        if judged is Verdict.FAILED:
            self._reject_failed(r, digest)
            return
        votes = r.votes_for(digest) | {self.me}
        if waiting or len(votes) < info.quorum:
            if stalled:
                self._reject(r, "STALLED: no quorum of miners on one candidate model")
            return
        try:
            self.ledger.seal_round(r.round, digest)
        except ContractReverted as exc:
            if exc.error_name == "HoldoutFailed":
                self._reject_failed(r, digest)
            elif stalled:
                self._reject(r, f"STALLED: {exc.error_name}")
            else:
                log.info("seal not accepted: %s", exc)

    def _reject_failed(self, r: RoundView, digest: str) -> None:
        try:
            self.ledger.reject_failed_holdout(r.round, digest)
        except ContractReverted as exc:  # the tally is not decided yet, or already closed
            log.info("hold-out rejection not recorded: %s", exc)

    def _reject(self, r: RoundView, reason: str) -> None:
        try:
            self.ledger.reject_round(r.round, reason)
        except ContractReverted as exc:  # not this miner's turn yet, or already closed
            log.debug("rejection not recorded: %s", exc)

    def status_phase(self) -> str | None:
        """The current round's phase (None before the first round)."""
        r = self.view.rounds.get(self.view.current_round)
        return r.phase.value if r else None
