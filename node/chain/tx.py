"""Sign and send contract transactions; turn reverts into ChainError naming the custom error."""

from __future__ import annotations

import threading
import time
from typing import Any

from eth_abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError
from web3.types import Nonce, TxParams, TxReceipt, Wei

from node.chain.artifact import abi_type as _abi_type
from node.errors import ChainError

#: Seconds a fee quote is reused.
FEE_TTL = 5.0


class ContractReverted(ChainError):
    """A call or transaction reverted with a custom error declared in the contract's ABI."""

    def __init__(self, error_name: str, error_args: dict[str, Any], *, action: str) -> None:
        shown = ", ".join(f"{k}={_show(v)}" for k, v in error_args.items())
        super().__init__(
            f"{action} reverted: {error_name}({shown})",
            fix=_FIXES.get(error_name, "check the caller's role and the round's state"),
        )
        self.error_name = error_name
        self.error_args = error_args


_FIXES = {
    "NotAdmin": "send it from the admin account",
    "NotMiner": "send it from a registered, active miner",
    "NotHospital": "register the hospital (`fedchain network init`) first",
    "NotRelay": "alignments are recorded by the relay that ran them: the admin or a miner",
    "NotAligned": "record the hospital's alignment first (`fedchain align run`): weight 0 until",
    "GovernanceRequired": "after the first round, changes need a quorum of miners: "
    "`fedchain network vote`",
    "InvalidMinUpdates": "a round needs 2 to (active miners) updates: one alone would be "
    "decrypted by itself",
    "BadSignature": "the hospital must sign (chain id, ledger, round, blob hash, sample count)",
    "AlreadyProposed": "each hospital proposes one update per round",
    "AlreadyVoted": "each miner votes once per update",
    "NotProposer": "wait for your turn in the rotation (proposerTimeout)",
    "NoQuorum": "wait for more attestations (or candidate votes)",
}


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def decode_revert(
    data: str | bytes, errors: dict[bytes, dict[str, Any]], action: str
) -> ChainError:
    """Build the ChainError for revert ``data`` using the ABI's custom errors."""
    raw = HexBytes(data)
    entry = errors.get(bytes(raw[:4]))
    if entry is None:
        return ChainError(f"{action} reverted with unknown data 0x{raw.hex()}")
    types = [_abi_type(i) for i in entry["inputs"]]
    values = abi_decode(types, bytes(raw[4:])) if types else ()
    names = [i["name"] or f"arg{n}" for n, i in enumerate(entry["inputs"])]
    values = tuple(
        to_checksum_address(v) if t == "address" else v for t, v in zip(types, values, strict=True)
    )
    return ContractReverted(entry["name"], dict(zip(names, values, strict=True)), action=action)


class TxSender:
    """Sends one account's transactions: local signing, local nonce, fast receipt polling.

    Thread-safe: one sender per account is shared by every thread of a process (a hospital's
    round thread and its alignment recording), so the nonce is taken and the transaction
    handed to the node under one lock; receipts are awaited outside it.
    """

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        *,
        errors: dict[bytes, dict[str, Any]],
        poll_interval: float = 0.005,
        timeout: float = 60.0,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.errors = errors
        self.poll_interval = poll_interval
        self.timeout = timeout
        self._nonce: int | None = None
        self._chain_id: int | None = None
        self._fee_cache: tuple[float, dict[str, Wei]] | None = None
        self._lock = threading.Lock()

    @property
    def chain_id(self) -> int:
        """The chain id, asked once."""
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def call(self, fn: ContractFunction, action: str) -> Any:
        """Run a view function, decoding custom errors."""
        try:
            return fn.call({"from": self.account.address})
        except (ContractCustomError, ContractLogicError) as exc:
            raise self._translate(exc, action) from exc

    def transact(self, fn: ContractFunction, action: str) -> TxReceipt:
        """Estimate (reverts surface here, decoded), sign, send, wait for the receipt."""
        with self._lock:  # nonce, estimate and hand-over in one step per account
            if self._nonce is None:
                self._nonce = self.w3.eth.get_transaction_count(self.account.address, "pending")
            try:
                params: TxParams = {
                    "from": self.account.address,
                    "nonce": Nonce(self._nonce),
                    "chainId": self.chain_id,
                    **self._fees(),  # type: ignore[typeddict-item]
                }
                tx = fn.build_transaction(params)
            except (ContractCustomError, ContractLogicError) as exc:
                raise self._translate(exc, action) from exc
            tx_hash = self._hand_over(tx, action)
        return self._receipt(tx_hash, action)

    def _fees(self) -> dict[str, Wei]:
        """EIP-1559 fees (2 x base fee + tip), cached for FEE_TTL seconds.

        Asking the node for the tip and the latest block on every transaction costs two
        round trips; fees change slowly, and a refused transaction drops the cache.
        """
        now = time.monotonic()
        if self._fee_cache is None or now - self._fee_cache[0] > FEE_TTL:
            tip = self.w3.eth.max_priority_fee
            base = self.w3.eth.get_block("latest").get("baseFeePerGas") or 0
            fees = {"maxPriorityFeePerGas": tip, "maxFeePerGas": Wei(2 * base + tip)}
            self._fee_cache = (now, fees)
        return self._fee_cache[1]

    def send_built(self, tx: dict[str, Any] | Any, action: str) -> TxReceipt:
        """Sign and send an already built transaction and wait for its receipt."""
        with self._lock:
            tx_hash = self._hand_over(tx, action)
        return self._receipt(tx_hash, action)

    def _hand_over(self, tx: dict[str, Any] | Any, action: str) -> HexBytes:
        """Sign and send (caller holds the lock); the next nonce follows this one."""
        signed = self.account.sign_transaction(tx)
        try:
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Web3RPCError as exc:
            self._nonce = None  # resync from the node next time
            self._fee_cache = None
            raise ChainError(f"{action}: the node refused the transaction: {exc}") from exc
        self._nonce = int(tx["nonce"]) + 1
        return HexBytes(tx_hash)

    def _receipt(self, tx_hash: HexBytes, action: str) -> TxReceipt:
        receipt = self.w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=self.timeout, poll_latency=self.poll_interval
        )
        if receipt["status"] != 1:
            raise ChainError(f"{action} reverted on chain (tx 0x{tx_hash.hex()})")
        return receipt

    def _translate(self, exc: ContractLogicError, action: str) -> ChainError:
        data = exc.data if isinstance(exc.data, (str, bytes)) else None
        if isinstance(exc, ContractCustomError) and data:
            return decode_revert(data, self.errors, action)
        return ChainError(f"{action} reverted: {exc.message or exc}")
