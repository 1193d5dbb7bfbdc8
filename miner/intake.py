"""The miner's edge: take a hospital's signed update, check it, propose it.

A miner carries its paired hospital's updates, and any other active hospital's when that
hospital's own miner did not propose them (the hospital falls back to another miner), so
no single miner can censor a hospital. A refused submission is recorded on chain
(``refuseSubmission``) with its reason code, so the audit sees every attempt, not only the
ones that reached a proposal.
"""

from __future__ import annotations

import logging

from miner.checks import Claim, RejectReason, UpdateRefused, check_update
from miner.duties import MinerNode
from node.blobstore import blob_hash
from node.chain.models import Role
from node.chain.tx import ContractReverted
from node.errors import NotFound
from node.roundwire import BlobStored, BlobUpload, ReceiptStatus, UpdateReceipt, UpdateSubmission

log = logging.getLogger(__name__)


def _refuse(
    node: MinerNode, submission: UpdateSubmission, hospital: str, refused: UpdateRefused
) -> UpdateReceipt:
    try:
        node.ledger.refuse_submission(
            hospital, submission.round, submission.blob_hash, refused.reason.value
        )
    except ContractReverted as exc:  # recording is best effort; the refusal stands
        log.warning("could not record refusal on chain: %s", exc)
    return UpdateReceipt(
        status=ReceiptStatus.REFUSED,
        round=submission.round,
        blob_hash=submission.blob_hash,
        reason=refused.reason.value,
        detail=refused.detail,
    )


def submit_update(*, node: MinerNode, signer: str, submission: UpdateSubmission) -> UpdateReceipt:
    """Check a submission from ``signer`` (the request's verified signer) and propose it."""
    node.view.catch_up(node.ledger, node.from_block)
    if not node.view.is_active_hospital(signer):
        # an outsider must not make this miner spend gas recording its attempts
        raise NotFound(
            f"{signer} is not an active hospital of this network",
            fix="only registered hospitals submit updates",
        )
    try:
        blob = submission.blob()
        if blob_hash(blob) != submission.blob_hash:
            raise UpdateRefused(RejectReason.HASH_MISMATCH, "blob does not hash to blob_hash")
        current = node.view.rounds.get(node.view.current_round)
        if current is None:
            raise UpdateRefused(RejectReason.WRONG_ROUND, "no round has been opened")
        claim = Claim(
            signer,
            submission.round,
            bytes.fromhex(submission.blob_hash),
            submission.sample_count,
            bytes.fromhex(submission.signature[2:]),
        )
        check_update(
            claim,
            blob,
            node.round_facts(current, node.now()),
            node.hospital_facts(signer, submission.blob_hash, None),
            node.public_key,
        )
    except UpdateRefused as refused:
        log.info("refused submission from %s: %s", signer, refused)
        return _refuse(node, submission, signer, refused)
    node.publish(blob)
    update_id, result = node.ledger.propose_update(
        signer,
        submission.round,
        submission.blob_hash,
        submission.sample_count,
        claim.signature,
    )
    return UpdateReceipt(
        status=ReceiptStatus.PROPOSED,
        round=submission.round,
        blob_hash=submission.blob_hash,
        update_id=update_id,
        tx_hash=result.tx_hash,
    )


def store_blob(*, node: MinerNode, signer: str, upload: BlobUpload) -> BlobStored:
    """Keep a blob pushed by a registered member (peers replicating, admin publishing).

    Needs no lock: membership is read from the chain and the store writes atomically, so
    two miners pushing to each other while both hold their own lock cannot deadlock.
    """
    member = node.ledger.member(signer)
    if member.role is Role.NONE and signer.lower() != node.ledger.admin().lower():
        raise NotFound(f"{signer} is not a member of this network", fix="register the pair")
    blob = upload.blob()
    digest = node.store.put_expected(blob, upload.blob_hash)
    return BlobStored(blob_hash=digest, size=len(blob))
