"""Independent checks of a reconstructed history against the blob store and the contract.

Each function returns typed CheckResults; nothing here writes anywhere. Inputs are the
history folded from events, a BlobReader over untrusted sources, the consortium public key
(public) and the balances the contract reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from node.audit.blobsource import BlobReader
from node.audit.history import History
from node.audit.models import (
    CheckKind,
    CheckResult,
    CheckStatus,
    RoundOutcome,
    RoundRecord,
    UpdateOutcome,
)
from node.blobstore import blob_hash
from node.crypto import ThresholdPublicKey, aggregate_updates, read_aggregate
from node.errors import FedchainError
from node.fedopt import GlobalModel, decode_global_model
from node.modelspec import ModelSpec, decode_model_spec
from node.roundmath import PublishedPartial, candidate_model

OK, FAILED, SKIPPED = CheckStatus.OK, CheckStatus.FAILED, CheckStatus.SKIPPED


def _result(
    kind: CheckKind, status: CheckStatus, subject: str, round_: int | None, detail: str = ""
) -> CheckResult:
    return CheckResult(kind=kind, status=status, subject=subject, round=round_, detail=detail)


# ------------------------------------------------------------------------ blob hashes
def on_chain_hashes(history: History) -> Iterator[tuple[str, str, int, bool]]:
    """Every blob hash the ledger names: (what, hash, round, required).

    ``required`` is False for blobs nobody needs to keep (a refused update's blob, a
    rejected round's candidate model): their absence is reported as skipped, not failed.
    """
    for r in history.rounds:
        yield "model spec", r.model_spec_hash, r.round, True
        yield "previous global model", r.prev_model_hash, r.round, True
        for u in r.updates:
            yield (
                f"update {u.update_id} ({u.hospital})",
                u.blob_hash,
                r.round,
                u.outcome is UpdateOutcome.ACCEPTED,
            )
        if r.aggregate_hash:
            yield "aggregate", r.aggregate_hash, r.round, True
        for miner, hashes in sorted(r.partials.items()):
            for digest in hashes:
                yield f"partial decryption of {miner}", digest, r.round, True
        if r.new_model_hash:
            yield "sealed global model", r.new_model_hash, r.round, True
        for c in sorted({x.candidate_hash for x in r.holdout} - {r.new_model_hash}):
            yield "hold-out candidate model", c, r.round, False


def check_blob_hashes(history: History, reader: BlobReader) -> list[CheckResult]:
    """Every on-chain hash has a copy that hashes to it, and no source serves a wrong one."""
    out: list[CheckResult] = []
    seen: set[str] = set()
    for what, digest, round_, required in on_chain_hashes(history):
        if digest in seen:
            continue
        seen.add(digest)
        fetched = reader.fetch(digest)
        subject = f"{what} {digest}"
        if fetched.mismatched:
            detail = "copy does not hash to its id at " + ", ".join(fetched.mismatched)
            out.append(_result(CheckKind.BLOB_HASH, FAILED, subject, round_, detail))
        elif fetched.blob is None:
            status = FAILED if required else SKIPPED
            out.append(
                _result(CheckKind.BLOB_HASH, status, subject, round_, "no source holds a copy")
            )
        else:
            held = sorted(s for s, st in fetched.states.items() if st.value == "match")
            out.append(
                _result(
                    CheckKind.BLOB_HASH,
                    OK,
                    subject,
                    round_,
                    f"held by {len(held)} of {len(fetched.states)} sources",
                )
            )
    return out


# ------------------------------------------------------------------------ aggregates
def check_aggregate(r: RoundRecord, reader: BlobReader, key: ThresholdPublicKey) -> CheckResult:
    """The committed aggregate is the homomorphic sum of exactly the round's accepted updates."""
    subject = f"round {r.round} aggregate {r.aggregate_hash}"

    def fail(detail: str) -> CheckResult:
        return _result(CheckKind.AGGREGATE, FAILED, subject, r.round, detail)

    accepted = r.accepted()
    if len(accepted) != r.accepted_updates:
        return fail(f"committed for {r.accepted_updates} updates, {len(accepted)} were accepted")
    blobs = []
    for u in accepted:
        blob = reader.get(u.blob_hash)
        if blob is None:
            return fail(f"accepted update {u.update_id} blob {u.blob_hash} is unavailable")
        blobs.append(blob)
    fetched = reader.fetch(r.aggregate_hash)
    try:
        recomputed = blob_hash(aggregate_updates(key, blobs, max_share_ppm=r.max_share_ppm))
        copies = {"": fetched.blob} if fetched.blob is not None else fetched.wrong
        declared = {
            where: {c.update_id.hex() for c in read_aggregate(blob, key).contributions}
            for where, blob in copies.items()
        }
    except FedchainError as exc:
        return fail(f"cannot recompute or read the aggregate: {exc.message}")
    if not declared:
        return fail("no source holds the committed aggregate")
    wanted = {u.blob_hash for u in accepted}
    for where, summed in declared.items():
        if summed != wanted:
            at = f"the copy at {where}" if where else "the aggregate"
            return fail(
                f"{at} sums {len(summed)} updates, {len(summed - wanted)} of them not "
                f"accepted; {len(wanted - summed)} accepted updates left out"
            )
    if fetched.blob is None:
        return fail(
            f"no copy hashes to the committed aggregate (wrong copies at "
            f"{', '.join(fetched.wrong)})"
        )
    if recomputed != r.aggregate_hash:
        return fail(f"sum of the accepted updates hashes to {recomputed}")
    return _result(
        CheckKind.AGGREGATE,
        OK,
        subject,
        r.round,
        f"recomputed from {len(accepted)} accepted updates",
    )


# ------------------------------------------------------------------------ model chain
def _decode(reader: BlobReader, digest: str, decode: Callable[[bytes], object]) -> object | None:
    blob = reader.get(digest)
    if blob is None:
        return None
    try:
        return decode(blob)
    except FedchainError:
        return None


def check_model_chain(history: History, reader: BlobReader) -> list[CheckResult]:
    """Each round starts from the previous sealed model; the first from a genesis model blob."""
    out: list[CheckResult] = []
    last: str | None = None
    for r in history.rounds:
        subject = f"round {r.round} previous model {r.prev_model_hash}"
        if last is None:
            genesis = _decode(reader, r.prev_model_hash, decode_global_model)
            if not isinstance(genesis, GlobalModel) or genesis.round != 0:
                out.append(
                    _result(
                        CheckKind.MODEL_CHAIN,
                        FAILED,
                        subject,
                        r.round,
                        "the first round does not start from a round-0 model blob",
                    )
                )
            else:
                out.append(_result(CheckKind.MODEL_CHAIN, OK, subject, r.round, "genesis model"))
        elif r.prev_model_hash != last:
            out.append(
                _result(
                    CheckKind.MODEL_CHAIN,
                    FAILED,
                    subject,
                    r.round,
                    f"the last sealed model is {last}",
                )
            )
        else:
            out.append(
                _result(
                    CheckKind.MODEL_CHAIN, OK, subject, r.round, "continues the last sealed model"
                )
            )
        last = r.prev_model_hash if last is None else last
        if r.outcome is RoundOutcome.SEALED:
            new = _decode(reader, r.new_model_hash, decode_global_model)
            prev = _decode(reader, r.prev_model_hash, decode_global_model)
            if not isinstance(new, GlobalModel) or not isinstance(prev, GlobalModel):
                out.append(
                    _result(
                        CheckKind.MODEL_CHAIN,
                        FAILED,
                        f"round {r.round} sealed model {r.new_model_hash}",
                        r.round,
                        "sealed or previous model blob unavailable or malformed",
                    )
                )
            elif new.round != prev.round + 1 or new.spec_hash != r.model_spec_hash:
                out.append(
                    _result(
                        CheckKind.MODEL_CHAIN,
                        FAILED,
                        f"round {r.round} sealed model {r.new_model_hash}",
                        r.round,
                        f"model says round {new.round}, spec {new.spec_hash}",
                    )
                )
            last = r.new_model_hash
    return out


def check_sealed_model(r: RoundRecord, reader: BlobReader, key: ThresholdPublicKey) -> CheckResult:
    """Combining the posted partials and applying the server step gives the sealed model.

    For a round rejected after its commit, the same recomputation must give the candidate
    the hospitals reported hold-out metrics for.
    """
    target = r.new_model_hash or next(iter({h.candidate_hash for h in r.holdout}), "")
    what = "sealed model" if r.new_model_hash else "hold-out candidate"
    subject = f"round {r.round} {what} {target}"
    agg = reader.get(r.aggregate_hash)
    partials = [
        PublishedPartial(r.partial_shares[miner], blob)
        for miner, hashes in r.partials.items()
        for digest in hashes
        if (blob := reader.get(digest)) is not None
    ]
    spec = _decode(reader, r.model_spec_hash, decode_model_spec)
    prev = _decode(reader, r.prev_model_hash, decode_global_model)
    if agg is None or not isinstance(spec, ModelSpec) or not isinstance(prev, GlobalModel):
        return _result(
            CheckKind.SEALED_MODEL,
            FAILED,
            subject,
            r.round,
            "aggregate, spec or previous model unavailable",
        )
    try:
        _, blob, _ = candidate_model(key, agg, partials, prev, spec)
    except FedchainError as exc:
        return _result(CheckKind.SEALED_MODEL, FAILED, subject, r.round, exc.message)
    got = blob_hash(blob)
    if got != target:
        return _result(
            CheckKind.SEALED_MODEL,
            FAILED,
            subject,
            r.round,
            f"decrypted aggregate + server step give {got}",
        )
    return _result(
        CheckKind.SEALED_MODEL,
        OK,
        subject,
        r.round,
        f"{len(partials)} partial decryptions combined and verified",
    )


def check_holdout_reports(history: History) -> list[CheckResult]:
    """A sealed round's hold-out reports all judged the model that was sealed.

    The contract counts the reports but does not compare their candidate hash with the
    sealed hash; a seal of another model than the one the hospitals evaluated shows here.
    """
    out = []
    for r in history.rounds:
        if r.outcome is not RoundOutcome.SEALED or not r.holdout:
            continue
        other = [x.hospital for x in r.holdout if x.candidate_hash != r.new_model_hash]
        out.append(
            _result(
                CheckKind.HOLDOUT,
                FAILED if other else OK,
                f"round {r.round} hold-out reports",
                r.round,
                (
                    f"reports of {', '.join(other)} judged another candidate"
                    if other
                    else f"{len(r.holdout)} reports judged the sealed model"
                ),
            )
        )
    return out


# ------------------------------------------------------------------------ credits
def check_rewards(history: History) -> list[CheckResult]:
    """Recomputed credits per sealed round match the seal's totals and the minted Transfers."""
    out: list[CheckResult] = []
    hospitals = {hosp for hosp, _ in history.pairs.values()}
    for r in history.rounds:
        if r.outcome is not RoundOutcome.SEALED:
            continue
        paid = history.credits_by_round.get(r.round, {})
        hosp = sum(v for a, v in paid.items() if a in hospitals)
        mine = sum(v for a, v in paid.items() if a not in hospitals)
        ok = (hosp, mine) == (r.hospital_credits, r.miner_credits)
        out.append(
            _result(
                CheckKind.REWARDS,
                OK if ok else FAILED,
                f"round {r.round} credits",
                r.round,
                f"recomputed hospitals {hosp}, miners {mine}; the seal "
                f"says {r.hospital_credits}, {r.miner_credits}",
            )
        )
    ok = history.minted == history.balances
    out.append(
        _result(
            CheckKind.REWARDS,
            OK if ok else FAILED,
            "minted Transfer events",
            None,
            "" if ok else f"minted {history.minted}, recomputed {history.balances}",
        )
    )
    return out


def check_balances(
    history: History, on_chain: dict[str, int], total_supply: int
) -> list[CheckResult]:
    """The contract's balanceOf and totalSupply equal what the events add up to."""
    out = []
    for account in sorted(set(on_chain) | set(history.balances)):
        want, got = history.balances.get(account, 0), on_chain.get(account)
        status = OK if got == want else FAILED
        out.append(
            _result(
                CheckKind.BALANCES,
                status,
                f"balance of {account}",
                None,
                f"contract {got}, recomputed {want}",
            )
        )
    ok = total_supply == history.total_supply
    out.append(
        _result(
            CheckKind.BALANCES,
            OK if ok else FAILED,
            "total supply",
            None,
            f"contract {total_supply}, recomputed {history.total_supply}",
        )
    )
    return out
