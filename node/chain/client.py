"""Typed client of the FederatedLedger contract: one method per contract function."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractFunction

from node.chain.artifact import ContractArtifact, load_artifact
from node.chain.events import EventDecoder, LedgerEvent
from node.chain.models import (
    DecryptionVotes,
    HoldoutTally,
    Member,
    Rates,
    Role,
    RoundInfo,
    RoundStatus,
    TxResult,
    UpdateInfo,
    UpdateStatus,
    bitmap_indexes,
    round_of,
)
from node.chain.signing import sign_alignment, sign_update
from node.chain.tx import TxSender
from node.errors import ChainError

#: ModelSpec's default max_total_weight: what a round holds when the caller names none.
DEFAULT_MAX_TOTAL_WEIGHT = 1 << 20
#: Fractions (unique patients) and hold-out metrics are recorded in parts per million.
PPM = 1_000_000
#: The spec's default max_updates: how many updates a round may aggregate.
DEFAULT_MAX_UPDATES = 16


class Change(IntEnum):
    """What a governed change (``voteChange``) does; mirrors the contract's CHANGE_* kinds."""

    ADD_PAIR = 1  # a = hospital, b = miner
    REMOVE_PAIR = 2  # a = hospital
    QUORUM = 3  # value = quorum override (0 = default)
    RATES = 4  # value = hospital | verifier << 64 | packer << 128
    PROPOSER_TIMEOUT = 5  # value = seconds
    ADMIN = 6  # a = the new admin


ZERO_ADDRESS = "0x" + "00" * 20


def _b32(value: bytes | str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes, got {len(raw)}")
    return raw


class LedgerClient:
    """A FederatedLedger at ``address`` seen by ``account`` (who signs what it sends)."""

    def __init__(
        self,
        w3: Web3,
        address: str,
        account: LocalAccount,
        *,
        artifact: ContractArtifact | None = None,
        poll_interval: float = 0.005,
        timeout: float = 60.0,
    ) -> None:
        self.artifact = artifact or load_artifact()
        self.w3 = w3
        self.account = account
        checksum = Web3.to_checksum_address(address)
        self.contract = w3.eth.contract(address=checksum, abi=self.artifact.abi)
        self.decoder = EventDecoder(self.contract)
        self.sender = TxSender(
            w3,
            account,
            errors=self.artifact.error_selectors(),
            poll_interval=poll_interval,
            timeout=timeout,
        )

    @property
    def address(self) -> str:
        """The ledger's checksummed address."""
        return str(self.contract.address)

    def as_account(self, account: LocalAccount) -> LedgerClient:
        """The same ledger seen by another account."""
        return LedgerClient(
            self.w3,
            self.address,
            account,
            artifact=self.artifact,
            poll_interval=self.sender.poll_interval,
            timeout=self.sender.timeout,
        )

    # ------------------------------------------------------------ plumbing
    def _send(self, fn: ContractFunction, action: str) -> TxResult:
        receipt = self.sender.transact(fn, action)
        return TxResult(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=receipt["blockNumber"],
            gas_used=receipt["gasUsed"],
            events=self.decoder.decode_all(list(receipt["logs"])),
        )

    def _call(self, fn: ContractFunction, action: str) -> Any:
        return self.sender.call(fn, action)

    @property
    def _f(self) -> Any:
        return self.contract.functions

    # ------------------------------------------------------------ genesis administration
    # The admin alone, and only before the first round opens; afterwards ``vote_change``.
    def transfer_admin(self, new_admin: str) -> TxResult:
        """Hand the admin role to ``new_admin`` (genesis admin)."""
        return self._send(self._f.transferAdmin(new_admin), "transferAdmin")

    def register_pair(self, hospital: str, miner: str) -> TxResult:
        """Register a hospital and its paired miner (genesis admin)."""
        return self._send(self._f.registerPair(hospital, miner), "registerPair")

    def remove_pair(self, hospital: str) -> TxResult:
        """Deactivate a hospital and its miner (genesis admin)."""
        return self._send(self._f.removePair(hospital), "removePair")

    def set_quorum(self, quorum: int) -> TxResult:
        """Set the miner quorum; 0 restores ceil(2m/3) (genesis admin)."""
        return self._send(self._f.setQuorum(quorum), "setQuorum")

    def set_rates(self, hospital_rate: int, verifier_rate: int, packer_rate: int) -> TxResult:
        """Set the credit rates (genesis admin)."""
        return self._send(self._f.setRates(hospital_rate, verifier_rate, packer_rate), "setRates")

    def set_proposer_timeout(self, seconds: int) -> TxResult:
        """Set how long each miner in the rotation has before the next may act (genesis)."""
        return self._send(self._f.setProposerTimeout(seconds), "setProposerTimeout")

    # ------------------------------------------------------------ governance (miners)
    def vote_change(
        self, kind: Change, *, a: str = ZERO_ADDRESS, b: str = ZERO_ADDRESS, value: int = 0
    ) -> TxResult:
        """Vote, as an active miner, for a change; it executes at a quorum of miners."""
        fn = self._f.voteChange(int(kind), a, b, value)
        return self._send(fn, f"voteChange({kind.name})")

    def change_votes(
        self, kind: Change, *, a: str = ZERO_ADDRESS, b: str = ZERO_ADDRESS, value: int = 0
    ) -> list[int]:
        """Pair indexes of the miners that voted for a change (current nonce)."""
        fn = self._f.changeVotesOf(int(kind), a, b, value)
        return bitmap_indexes(int(self._call(fn, "changeVotesOf")))

    def open_round(
        self,
        round_id: int,
        prev_model_hash: bytes | str,
        deadline: int,
        min_updates: int,
        model_spec_hash: bytes | str,
        max_total_weight: int = DEFAULT_MAX_TOTAL_WEIGHT,
        max_updates: int = DEFAULT_MAX_UPDATES,
    ) -> TxResult:
        """Open ``round_id`` (admin); ``deadline`` is a unix time for proposals.

        ``max_total_weight`` and ``max_updates`` are the spec's: proposals beyond them are
        refused on chain. ``min_updates`` must be at least 2 (an aggregate of one update
        would decrypt that hospital's update).
        """
        fn = self._f.openRound(
            round_id,
            _b32(prev_model_hash),
            deadline,
            min_updates,
            _b32(model_spec_hash),
            max_total_weight,
            max_updates,
        )
        return self._send(fn, f"openRound({round_id})")

    # ------------------------------------------------------------ hospitals
    def report_holdout(
        self, round_id: int, candidate_hash: bytes | str, metric_before: int, metric_after: int
    ) -> TxResult:
        """Report hold-out metrics (ppm, higher is better) of a committed round's candidate."""
        fn = self._f.reportHoldout(round_id, _b32(candidate_hash), metric_before, metric_after)
        return self._send(fn, f"reportHoldout({round_id})")

    def sign_alignment(
        self, run: int, shared_set_hash: bytes | str, shared_size: int, unique_ppm: int = PPM
    ) -> bytes:
        """Sign, as this hospital, an alignment outcome for a relay to record."""
        return sign_alignment(
            self.account,
            chain_id=self.sender.chain_id,
            ledger=self.address,
            run=run,
            shared_set_hash=_b32(shared_set_hash),
            shared_size=shared_size,
            unique_ppm=unique_ppm,
        )

    def record_alignment(
        self,
        hospital: str,
        run: int,
        shared_set_hash: bytes | str,
        shared_size: int,
        unique_ppm: int,
        signature: bytes,
    ) -> TxResult:
        """Record, as the relay that ran it (admin or miner), a hospital's signed outcome."""
        fn = self._f.recordAlignment(
            hospital, run, _b32(shared_set_hash), shared_size, unique_ppm, signature
        )
        return self._send(fn, "recordAlignment")

    def sign_update(self, round_id: int, blob_hash: bytes | str, sample_count: int) -> bytes:
        """Sign an update as this account (a hospital), EIP-712 bound to this ledger."""
        return sign_update(
            self.account,
            chain_id=self.sender.chain_id,
            ledger=self.address,
            round_id=round_id,
            blob_hash=_b32(blob_hash),
            sample_count=sample_count,
        )

    # ------------------------------------------------------------ miners
    def propose_update(
        self,
        hospital: str,
        round_id: int,
        blob_hash: bytes | str,
        sample_count: int,
        signature: bytes,
    ) -> tuple[int, TxResult]:
        """Propose a hospital's signed update (any active miner); returns (update id, result)."""
        fn = self._f.proposeUpdate(hospital, round_id, _b32(blob_hash), sample_count, signature)
        result = self._send(fn, f"proposeUpdate(round {round_id})")
        proposed = result.of("UpdateProposed")
        if not proposed:
            raise ChainError("proposeUpdate emitted no UpdateProposed event")
        return int(proposed[0].update_id), result  # type: ignore[attr-defined]

    def refuse_submission(
        self, hospital: str, round_id: int, blob_hash: bytes | str, reason: str
    ) -> TxResult:
        """Record that this miner refused a submission at its edge, and why."""
        fn = self._f.refuseSubmission(hospital, round_id, _b32(blob_hash), reason)
        return self._send(fn, f"refuseSubmission(round {round_id})")

    def approve_update(self, update_id: int) -> TxResult:
        """Approve one update (another miner)."""
        return self._send(self._f.approveUpdate(update_id), f"approveUpdate({update_id})")

    def approve_updates(self, update_ids: list[int]) -> TxResult:
        """Approve several updates in one transaction."""
        return self._send(self._f.approveUpdates(list(update_ids)), "approveUpdates")

    def reject_update(self, update_id: int, reason: str) -> TxResult:
        """Reject an update, saying why."""
        return self._send(self._f.rejectUpdate(update_id, reason), f"rejectUpdate({update_id})")

    def commit_aggregate(
        self, round_id: int, aggregate_hash: bytes | str, accepted_updates: int
    ) -> TxResult:
        """Commit the round's aggregate hash (the round's proposer in rotation)."""
        fn = self._f.commitAggregate(round_id, _b32(aggregate_hash), accepted_updates)
        return self._send(fn, f"commitAggregate({round_id})")

    def attest_aggregate(self, round_id: int, aggregate_hash: bytes | str) -> TxResult:
        """Attest the committed aggregate hash after recomputing it."""
        fn = self._f.attestAggregate(round_id, _b32(aggregate_hash))
        return self._send(fn, f"attestAggregate({round_id})")

    def submit_partial_decryption(self, round_id: int, blob_hash: bytes | str) -> TxResult:
        """Record that this miner published its partial decryption (blob by hash)."""
        fn = self._f.submitPartialDecryption(round_id, _b32(blob_hash))
        return self._send(fn, f"submitPartialDecryption({round_id})")

    def attest_candidate(self, round_id: int, candidate_hash: bytes | str) -> TxResult:
        """Attest the candidate model hash this miner derived from the partials."""
        fn = self._f.attestCandidate(round_id, _b32(candidate_hash))
        return self._send(fn, f"attestCandidate({round_id})")

    def seal_round(self, round_id: int, new_model_hash: bytes | str) -> TxResult:
        """Seal the round with a candidate a quorum of miners attested; mints the credits."""
        fn = self._f.sealRound(round_id, _b32(new_model_hash))
        return self._send(fn, f"sealRound({round_id})")

    def reject_round(self, round_id: int, reason: str) -> TxResult:
        """Record the round as rejected (the rotation when it is due, or the late packer)."""
        return self._send(self._f.rejectRound(round_id, reason), f"rejectRound({round_id})")

    def reject_failed_holdout(self, round_id: int, candidate_hash: bytes | str) -> TxResult:
        """Reject a committed round whose candidate failed its hold-out tally (any miner)."""
        fn = self._f.rejectFailedHoldout(round_id, _b32(candidate_hash))
        return self._send(fn, f"rejectFailedHoldout({round_id})")

    # ------------------------------------------------------------ views
    def admin(self) -> str:
        """The admin's address."""
        return str(self._call(self._f.admin(), "admin"))

    def quorum(self) -> int:
        """The quorum new rounds get (override or ceil(2m/3))."""
        return int(self._call(self._f.quorum(), "quorum"))

    def pair_count(self) -> int:
        """Pair slots ever used (highest index + 1; slots of removed pairs are reused)."""
        return int(self._call(self._f.pairCount(), "pairCount"))

    def active_indexes(self) -> list[int]:
        """Pair indexes of the active pairs."""
        return bitmap_indexes(int(self._call(self._f.activeMask(), "activeMask")))

    def active_miners(self) -> int:
        """Miners of active pairs."""
        return int(self._call(self._f.activeMiners(), "activeMiners"))

    def holdout_policy(self) -> tuple[int, int]:
        """(reports a seal needs, 0 = no gate; margin in ppm), fixed at deployment."""
        return (
            int(self._call(self._f.holdoutQuorum(), "holdoutQuorum")),
            int(self._call(self._f.holdoutMargin(), "holdoutMargin")),
        )

    def schema_hash(self) -> str:
        """sha256 of the consortium schema fixed at deployment (hex, no 0x; zeros: none)."""
        return bytes(self._call(self._f.schemaHash(), "schemaHash")).hex()

    def max_share_ppm(self) -> int:
        """The largest share (ppm) of a round's weight one update may carry (deployment)."""
        return int(self._call(self._f.maxSharePpm(), "maxSharePpm"))

    def proposer_timeout(self) -> int:
        """Seconds each miner in the rotation has before the next may act."""
        return int(self._call(self._f.proposerTimeout(), "proposerTimeout"))

    def current_round(self) -> int:
        """The latest opened round (0 before the first)."""
        return int(self._call(self._f.currentRound(), "currentRound"))

    def model_hash(self) -> str:
        """The latest sealed global model hash (0x00.. before the first seal)."""
        return "0x" + bytes(self._call(self._f.modelHash(), "modelHash")).hex()

    def rates(self) -> Rates:
        """The credit rates."""
        return Rates(
            hospital_rate=self._call(self._f.hospitalRate(), "hospitalRate"),
            verifier_rate=self._call(self._f.verifierRate(), "verifierRate"),
            packer_rate=self._call(self._f.packerRate(), "packerRate"),
        )

    def member(self, address: str) -> Member:
        """An account's registration (role NONE when unknown)."""
        m = self._call(self._f.getMember(address), "getMember")
        return Member(
            address=address,
            paired=m[0],
            role=Role(m[1]),
            index=m[2],
            active=m[3],
            aligned=m[4],
            shared_size=m[5],
            unique_ppm=m[6],
        )

    def miner_at(self, index: int) -> str:
        """The miner of pair ``index``."""
        return str(self._call(self._f.minerAtIndex(index), "minerAtIndex"))

    def pairs(self) -> list[tuple[str, str]]:
        """(hospital, miner) of every registered pair, by index (inactive ones included)."""
        out = []
        for i in range(self.pair_count()):
            miner = self.miner_at(i)
            out.append((self.member(miner).paired, miner))
        return out

    def round(self, round_id: int) -> RoundInfo:
        """A round's stored state."""
        r, h = self._call(self._f.getRound(round_id), f"getRound({round_id})")
        return RoundInfo(
            round=round_id,
            status=RoundStatus(r[0]),
            min_updates=r[1],
            max_updates=r[2],
            proposed=r[3],
            accepted=r[4],
            proposed_by=bitmap_indexes(r[5]),
            attestations=bitmap_indexes(r[6]),
            packer=r[7],
            quorum=r[8],
            miners=r[9],
            deadline=r[10],
            ready_at=r[11],
            committed_at=r[12],
            holdout_reports=bitmap_indexes(r[13]),
            weight_left=r[14],
            prev_model_hash=h[0],
            model_spec_hash=h[1],
            aggregate_hash=h[2],
        )

    def decryption_votes(self, round_id: int) -> DecryptionVotes:
        """Who posted partials, covers and candidate votes in a round."""
        d = self._call(self._f.getDecryptionVotes(round_id), "getDecryptionVotes")
        return DecryptionVotes(
            partials=bitmap_indexes(d[0]),
            covers=bitmap_indexes(d[1]),
            candidate_voters=bitmap_indexes(d[2]),
        )

    def candidate_votes(self, round_id: int, candidate_hash: bytes | str) -> list[int]:
        """Pair indexes of the miners that attested ``candidate_hash`` for the round."""
        fn = self._f.candidateVotesOf(round_id, _b32(candidate_hash))
        return bitmap_indexes(int(self._call(fn, "candidateVotesOf")))

    def alignment_run(self, hospital: str) -> int:
        """The latest alignment run recorded for ``hospital`` (0 before any)."""
        return int(self._call(self._f.alignmentRun(hospital), "alignmentRun"))

    def update(self, update_id: int) -> UpdateInfo:
        """An update's stored state."""
        u = self._call(self._f.getUpdate(update_id), f"getUpdate({update_id})")
        return UpdateInfo(
            update_id=update_id,
            round=round_of(update_id),
            hospital=u[0],
            sample_count=u[1],
            approvals=bitmap_indexes(u[2]),
            rejections=bitmap_indexes(u[3]),
            status=UpdateStatus(u[4]),
        )

    def holdout_tally(self, round_id: int, candidate_hash: bytes | str) -> HoldoutTally:
        """The hold-out reports on one candidate model of a round."""
        fn = self._f.holdoutTally(round_id, _b32(candidate_hash))
        t = self._call(fn, "holdoutTally")
        return HoldoutTally(reports=t[0], worse=t[1], gain_sum=t[2])

    def proposer_at(self, round_id: int, attempt: int = 0) -> str:
        """The miner designated to pack ``round_id`` at ``attempt`` (0 = first choice)."""
        return str(self._call(self._f.proposerAt(round_id, attempt), "proposerAt"))

    def may_pack(self, round_id: int, miner: str | None = None) -> bool:
        """Whether ``miner`` (default: this account) may commit the round now."""
        who = miner or self.account.address
        return bool(self._call(self._f.mayPack(round_id, who), "mayPack"))

    def update_digest(self, round_id: int, blob_hash: bytes | str, sample_count: int) -> bytes:
        """The EIP-712 digest the contract verifies for an update."""
        fn = self._f.updateDigest(round_id, _b32(blob_hash), sample_count)
        return bytes(self._call(fn, "updateDigest"))

    # ERC-20 read interface
    def name(self) -> str:
        """ERC-20 name."""
        return str(self._call(self._f.name(), "name"))

    def symbol(self) -> str:
        """ERC-20 symbol."""
        return str(self._call(self._f.symbol(), "symbol"))

    def decimals(self) -> int:
        """ERC-20 decimals (0: credits are whole units)."""
        return int(self._call(self._f.decimals(), "decimals"))

    def total_supply(self) -> int:
        """All credits minted so far."""
        return int(self._call(self._f.totalSupply(), "totalSupply"))

    def balance_of(self, address: str) -> int:
        """An account's credits."""
        return int(self._call(self._f.balanceOf(address), "balanceOf"))

    def transfer(self, to: str, amount: int) -> TxResult:
        """Always reverts with NonTransferable: credits record contribution."""
        return self._send(self._f.transfer(to, amount), "transfer")

    # ------------------------------------------------------------ history
    def events(
        self,
        from_block: int = 0,
        to_block: int | str = "latest",
        names: set[str] | None = None,
    ) -> list[LedgerEvent]:
        """Every ledger event in the block range, in chain order (optionally only ``names``)."""
        logs = self.w3.eth.get_logs(
            {
                "address": self.contract.address,
                "fromBlock": from_block,
                "toBlock": to_block,  # type: ignore[typeddict-item]
            }
        )
        decoded = self.decoder.decode_all(list(logs))
        return [e for e in decoded if names is None or e.event in names]
