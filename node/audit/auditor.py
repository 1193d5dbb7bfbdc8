"""The auditor: read the ledger and the blob sources, reconstruct, verify, report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from node.audit.blobsource import BlobReader
from node.audit.history import History, reconstruct
from node.audit.models import AuditReport, CheckKind, CheckResult, CheckStatus
from node.audit.verify import (
    check_aggregate,
    check_balances,
    check_blob_hashes,
    check_holdout_reports,
    check_model_chain,
    check_rewards,
    check_sealed_model,
)
from node.chain.client import LedgerClient
from node.crypto import ThresholdPublicKey, decode_public_key, public_key_id
from node.errors import ChainError, FedchainError
from node.modelspec import decode_model_spec


@dataclass
class Auditor:
    """Reads one ledger (from ``from_block``) and a set of blob sources; never writes."""

    ledger: LedgerClient
    reader: BlobReader
    public_key_file: Path | None = None
    from_block: int = 0
    check_sealed_models: bool = True

    def history(self) -> History:
        """The history folded from every ledger event."""
        return reconstruct(self.ledger.events(from_block=self.from_block))

    def public_key(self, history: History) -> tuple[ThresholdPublicKey | None, str]:
        """The consortium key the rounds' specs name: from the file, else from the blob store.

        Returns (key, why-not) — the key is None when it cannot be found or does not match.
        """
        if not history.rounds:
            return None, "no rounds"
        spec_blob = self.reader.get(history.rounds[0].model_spec_hash)
        if spec_blob is None:
            return None, "the first round's model spec blob is unavailable"
        want = decode_model_spec(spec_blob).public_key_id
        blob = self.public_key_file.read_bytes() if self.public_key_file else self.reader.get(want)
        if blob is None:
            return None, (
                "the consortium public key is not in the blob store; "
                "set FEDCHAIN_AUDITOR_PUBLIC_KEY"
            )
        key = decode_public_key(blob)
        if public_key_id(key).hex() != want:
            return None, f"the public key given is not {want}, the key the spec names"
        return key, ""

    def onchain_balances(self, history: History) -> dict[str, int]:
        """The contract's balanceOf for every pair account and every account the events credit."""
        accounts = {a for pair in history.pairs.values() for a in pair} | set(history.balances)
        return {a: self.ledger.balance_of(a) for a in sorted(accounts)}

    def report(self) -> AuditReport:
        """Reconstruct and verify everything; the report says what holds and what does not.

        Raises ChainError when the ledger cannot be read at all (no partial report).
        """
        try:
            block = int(self.ledger.w3.eth.block_number)
            history = self.history()
        except FedchainError:
            raise
        except Exception as exc:  # web3 / requests errors of an unreachable or wrong node
            raise ChainError(
                f"cannot read the ledger's events: {exc}",
                fix="check FEDCHAIN_RPC_URL / the network file and that the chain is running",
            ) from exc
        checks: list[CheckResult] = check_blob_hashes(history, self.reader)
        key, why = self.public_key(history)
        for r in history.rounds:
            if not r.aggregate_hash:
                continue
            if key is None:  # not verifiable is not verified
                checks.append(
                    CheckResult(
                        kind=CheckKind.AGGREGATE,
                        status=CheckStatus.FAILED,
                        subject=f"round {r.round} aggregate",
                        round=r.round,
                        detail=f"cannot be checked: {why}",
                    )
                )
                continue
            checks.append(check_aggregate(r, self.reader, key))
            if self.check_sealed_models and (r.new_model_hash or r.holdout):
                checks.append(check_sealed_model(r, self.reader, key))
        checks += check_model_chain(history, self.reader)
        checks += check_holdout_reports(history)
        checks += check_rewards(history)
        try:
            balances = self.onchain_balances(history)
            supply = self.ledger.total_supply()
        except FedchainError as exc:
            checks.append(
                CheckResult(
                    kind=CheckKind.BALANCES,
                    status=CheckStatus.FAILED,
                    subject="contract balances",
                    detail=exc.message,
                )
            )
        else:
            checks += check_balances(history, balances, supply)
        return AuditReport(
            chain_id=int(self.ledger.w3.eth.chain_id),
            ledger=self.ledger.address,
            block=block,
            rounds=history.rounds,
            contributions=history.contributions,
            miner_work=history.miner_work,
            rewards=history.rewards,
            balances=history.balances,
            total_supply=history.total_supply,
            checks=checks,
        )
