"""Run a real fedchain service with one behaviour changed: the dishonest insider of a test.

    python -m tests.adversarial.rogue BEHAVIOUR miner serve
    python -m tests.adversarial.rogue BEHAVIOUR hospital serve --port 8100

Everything else is the product's own code, in its own process, with its own account, store
and environment (``Network.restart_miner(k, launcher=rogue_launcher(...))``). Each behaviour
replaces one method or function and logs what it did, so a test can read the rogue's log.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

import numpy as np

log = logging.getLogger("rogue")
BEHAVIOURS: dict[str, Callable[[], None]] = {}


def behaviour(name: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Register a patch under ``name``."""

    def register(patch: Callable[[], None]) -> Callable[[], None]:
        BEHAVIOURS[name] = patch
        return patch

    return register


def launcher(name: str) -> list[str]:
    """The command prefix that runs a service with behaviour ``name`` (Network's launcher)."""
    if name not in BEHAVIOURS:
        raise KeyError(f"no rogue behaviour {name!r}")
    return [sys.executable, "-m", "tests.adversarial.rogue", name]


# ------------------------------------------------------------------------ a dishonest packer
def _commit_forged(node, r, forge) -> None:  # type: ignore[no-untyped-def]
    """Commit ``forge(accepted update blobs)`` as the aggregate when this miner may pack."""
    from node.chain.tx import ContractReverted

    if not r.ready_at or not node.ledger.may_pack(r.round, node.me):
        return
    blobs = [node.blob(u.blob_hash) for u in r.accepted()]
    digest = node.publish(forge(node, blobs))
    try:
        node.ledger.commit_aggregate(r.round, digest, len(r.accepted()))
        log.warning("ROGUE committed a forged aggregate %s", digest)
    except ContractReverted as exc:
        log.warning("ROGUE commit refused: %s", exc)


def _post_own_partial(node, r) -> None:  # type: ignore[no-untyped-def]
    """Post a partial decryption of whatever was committed, without any check."""
    from node.chain.tx import ContractReverted
    from node.crypto.codec import decode_aggregate, encode_partial, public_key_id
    from node.crypto.messages import PartialDecryption, blob_id
    from node.crypto.rounds import _proof_context
    from node.crypto.threshold import partial_decryptions

    if node.me in r.partials:
        return
    agg_blob = node.blob(r.aggregate_hash)
    try:
        ciphertexts = decode_aggregate(agg_blob, node.public_key).ciphertexts
    except Exception:  # a one-update aggregate does not even parse: read its ciphertexts raw
        ciphertexts = _raw_ciphertexts(node, agg_blob)
    indices = tuple(range(len(ciphertexts)))
    agg_id = blob_id(agg_blob)
    partials, proof = partial_decryptions(
        node.public_key,
        node.share.index,
        node.share.secret,
        list(ciphertexts),
        context=_proof_context(agg_id, indices),
    )
    blob = encode_partial(
        PartialDecryption(
            public_key_id(node.public_key),
            agg_id,
            node.share.index,
            indices,
            tuple(partials),
            proof,
        ),
        node.public_key,
    )
    try:
        node.ledger.submit_partial_decryption(r.round, node.publish(blob))
        log.warning("ROGUE posted its partial of the forged aggregate")
    except ContractReverted as exc:
        log.warning("ROGUE partial refused: %s", exc)


def _raw_ciphertexts(node, blob: bytes) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    from node.crypto.codec import ID_BYTES, _read_spec
    from node.crypto.messages import BlobKind
    from node.crypto.wire import Reader

    r = Reader(blob, BlobKind.AGGREGATE, "aggregate")
    r.raw(ID_BYTES, "public_key_id")
    _read_spec(r)
    r.u32("n_values")
    for _ in range(r.u16("contributions")):
        r.raw(ID_BYTES, "contributions")
        r.u32("contributions")
    return tuple(r.int_array("ciphertexts"))


def _one_update_aggregate(node, blobs: list[bytes]) -> bytes:  # type: ignore[no-untyped-def]
    """Hospital 0's update alone, dressed as an aggregate: its decryption is that update."""
    from node.crypto import read_update
    from node.crypto.codec import encode_aggregate, public_key_id
    from node.crypto.messages import Aggregate, Contribution, blob_id

    update = read_update(blobs[0], node.public_key)
    aggregate = Aggregate(
        public_key_id(node.public_key),
        update.spec,
        update.n_values,
        (Contribution(blob_id(blobs[0]), 1),),
        update.ciphertexts,
    )
    return encode_aggregate(aggregate, node.public_key)


def _subset_aggregate(node, blobs: list[bytes]) -> bytes:  # type: ignore[no-untyped-def]
    """A real aggregate of all accepted updates but the last: another sum than the round's."""
    from node.crypto import aggregate_updates

    return aggregate_updates(node.public_key, blobs[:-1], max_share_ppm=node.view.max_share_ppm)


def _forging_packer(forge) -> None:  # type: ignore[no-untyped-def]
    from miner.duties import MinerNode

    def pack_if_chosen(self, r) -> None:  # type: ignore[no-untyped-def]
        _commit_forged(self, r, forge)

    def decrypt(self, r) -> None:  # type: ignore[no-untyped-def]
        if r.packer == self.me:
            _post_own_partial(self, r)

    MinerNode.pack_if_chosen = pack_if_chosen  # type: ignore[method-assign]
    MinerNode.decrypt = decrypt  # type: ignore[method-assign]


@behaviour("packer-commits-one-update")
def _packer_commits_one_update() -> None:
    _forging_packer(_one_update_aggregate)


@behaviour("packer-commits-another-sum")
def _packer_commits_another_sum() -> None:
    _forging_packer(_subset_aggregate)


@behaviour("packer-seals-another-hash")
def _packer_seals_another_hash() -> None:
    from miner.duties import MinerNode
    from node.chain.tx import ContractReverted

    def seal_if_due(self, r) -> None:  # type: ignore[no-untyped-def]
        if r.packer != self.me:
            return
        forged = os.urandom(32)
        try:
            self.ledger.attest_candidate(r.round, forged)
        except ContractReverted as exc:
            log.warning("ROGUE candidate vote refused: %s", exc.error_name)
        try:
            self.ledger.seal_round(r.round, forged)
            log.warning("ROGUE sealed %s", forged.hex())
        except ContractReverted as exc:
            log.warning("ROGUE seal of another hash refused: %s", exc.error_name)

    MinerNode.seal_if_due = seal_if_due  # type: ignore[method-assign]
    MinerNode.attest_candidate = lambda self, r: None  # type: ignore[method-assign]


@behaviour("proposer-rejects-ready-round")
def _proposer_rejects_ready_round() -> None:
    from miner.duties import MinerNode
    from node.chain.tx import ContractReverted

    def pack_if_chosen(self, r) -> None:  # type: ignore[no-untyped-def]
        if r.ready_at and self.ledger.may_pack(r.round, self.me):
            try:
                self.ledger.reject_round(r.round, "ROGUE: rejected while ready")
                log.warning("ROGUE rejected the ready round")
            except ContractReverted as exc:
                log.warning("ROGUE early rejection refused: %s", exc.error_name)

    MinerNode.pack_if_chosen = pack_if_chosen  # type: ignore[method-assign]


# ------------------------------------------------------------------------ a censoring miner
@behaviour("miner-drops-its-hospitals-update")
def _miner_drops_its_hospitals_update() -> None:
    import miner.app
    from node.roundwire import ReceiptStatus, UpdateReceipt

    def submit_update(*, node, signer, submission):  # type: ignore[no-untyped-def]
        log.warning("ROGUE dropped the update of %s (answered 'proposed')", signer)
        return UpdateReceipt(
            status=ReceiptStatus.PROPOSED,
            round=submission.round,
            blob_hash=submission.blob_hash,
            update_id=0,
        )

    miner.app.submit_update = submit_update  # type: ignore[assignment]


# ------------------------------------------------------------------------ dishonest partials
def _partial_poster(make) -> None:  # type: ignore[no-untyped-def]
    """This miner posts ``make(node, aggregate_blob)`` partial blobs instead of its own."""
    from miner.duties import MinerNode
    from node.chain.tx import ContractReverted

    def decrypt(self, r) -> None:  # type: ignore[no-untyped-def]
        if self.me in r.partials or len(r.attesters) < self.quorum(r):
            return
        for blob in make(self, self.blob(r.aggregate_hash)):
            try:
                self.ledger.submit_partial_decryption(r.round, self.publish(blob))
                log.warning("ROGUE posted a partial of %d bytes", len(blob))
            except ContractReverted as exc:
                log.warning("ROGUE partial refused on chain: %s", exc.error_name)

    MinerNode.decrypt = decrypt  # type: ignore[method-assign]


def _honest_partial(node, agg: bytes):  # type: ignore[no-untyped-def]
    from node.crypto import partial_decrypt
    from node.crypto.codec import decode_partial

    return decode_partial(partial_decrypt(node.public_key, node.share, agg), node.public_key)


def _encoded(node, partial) -> bytes:  # type: ignore[no-untyped-def]
    from node.crypto.codec import encode_partial

    return encode_partial(partial, node.public_key)


@behaviour("oversized-partial")
def _oversized_partial() -> None:
    import dataclasses

    def make(node, agg):  # type: ignore[no-untyped-def]
        honest = _honest_partial(node, agg)
        huge = dataclasses.replace(honest.proof, response=(1 << (8 * 4_000_000)) - 1)  # 4 MB
        return [_encoded(node, dataclasses.replace(honest, proof=huge))]

    _partial_poster(make)


@behaviour("repeated-partials")
def _repeated_partials() -> None:
    from node.crypto import partial_decrypt

    def make(node, agg):  # type: ignore[no-untyped-def]
        return [partial_decrypt(node.public_key, node.share, agg) for _ in range(4)]

    _partial_poster(make)


@behaviour("framing-partial")
def _framing_partial() -> None:
    """Post a bad partial that claims the share of the next miner: frame it."""
    import dataclasses

    def make(node, agg):  # type: ignore[no-untyped-def]
        honest = _honest_partial(node, agg)
        victim = honest.share_index % node.public_key.miners + 1
        garbage = tuple((p * 3) % node.public_key.nsquare for p in honest.partials)
        log.warning("ROGUE frames share %d", victim)
        return [_encoded(node, dataclasses.replace(honest, share_index=victim, partials=garbage))]

    _partial_poster(make)


# ------------------------------------------------------------------------ dishonest hospitals
@behaviour("hospital-encrypts-out-of-range")
def _hospital_encrypts_out_of_range() -> None:
    """Encrypt slot levels far above the packing's range: one update, many times the clip."""
    import hospital.round
    from node.crypto import rounds
    from node.crypto.codec import encode_update, public_key_id
    from node.crypto.messages import EncryptedUpdate
    from node.crypto.packing import pack
    from node.crypto.paillier import encrypt_with, fresh_obfuscators

    def encrypt_update(public_key, spec, values, *, weight, pool=None, **_):  # type: ignore[no-untyped-def]
        levels = rounds.quantise(values, spec, clip_out_of_range=True)
        levels[: len(levels) // 2] = np.uint64(spec.max_level * 1000)  # 1000x the honest top
        plaintexts = pack(levels, spec, public_key.n_bits)
        update = EncryptedUpdate(
            public_key_id=public_key_id(public_key),
            spec=spec,
            n_values=len(levels),
            weight=weight,
            context=b"",
            ciphertexts=tuple(
                encrypt_with(
                    public_key.n, plaintexts, fresh_obfuscators(public_key.n, len(plaintexts))
                )
            ),
        )
        log.warning("ROGUE encrypted %d values at 1000x the top level", len(levels) // 2)
        return encode_update(update, public_key)

    hospital.round.encrypt_update = encrypt_update  # type: ignore[assignment]


@behaviour("hospital-claims-2^20")
def _hospital_claims_a_million() -> None:
    """Sign an alignment record of 2^20 shared cases and claim 2^18 samples in each round."""
    import hospital.service.alignment as alignment
    import hospital.service.rounds as rounds

    honest = alignment.sign_with

    def sign_with(ledger):  # type: ignore[no-untyped-def]
        sign = honest(ledger)
        return lambda run, shared_set_hash, _cases, unique: sign(
            run, shared_set_hash, 1 << 20, unique
        )

    def train(self, weights):  # type: ignore[no-untyped-def]
        delta, _ = self.trainer().train(weights)
        log.warning("ROGUE claims %d samples", 1 << 18)
        return delta, 1 << 18  # a quarter of the default room: far above any honest claim

    alignment.sign_with = sign_with  # `hospital serve` imports it when it starts
    rounds.HospitalRounds.train = train  # type: ignore[method-assign]


@behaviour("hospital-never-reports-holdout")
def _hospital_never_reports_holdout() -> None:
    """Train and send as usual, never report a hold-out metric."""
    import hospital.round

    def report_holdout(self, r) -> None:  # type: ignore[no-untyped-def]
        if r.round not in self._reported:
            log.warning("ROGUE stays silent on the hold-out of round %s", r.round)
        self._reported.add(r.round)

    hospital.round.RoundClient.report_holdout = report_holdout  # type: ignore[method-assign]


@behaviour("hospital-withholds-its-alignment-record")
def _hospital_withholds_its_alignment_record() -> None:
    """Take part in the PSI but give the relay nothing to record, then claim samples anyway."""
    import hospital.service.alignment as alignment

    alignment.sign_with = lambda ledger: None  # the book then signs nothing


def main() -> None:
    """Apply the named behaviour, then run the fedchain CLI with the remaining arguments."""
    name, *args = sys.argv[1:]
    logging.basicConfig(level=logging.INFO)
    BEHAVIOURS[name]()
    log.warning("ROGUE behaviour %s active in PID %d", name, os.getpid())
    from node.cli.app import main as fedchain

    sys.argv = ["fedchain", *args]
    fedchain()


if __name__ == "__main__":
    main()
