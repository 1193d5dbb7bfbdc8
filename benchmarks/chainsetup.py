"""Ledger set-up the benchmarks share: alignments recorded as the relay would record them."""

from __future__ import annotations

from collections.abc import Sequence

from eth_account.signers.local import LocalAccount

from node.chain.client import LedgerClient


def align_as_relay(
    relay: LedgerClient, hospitals: Sequence[LocalAccount], shared_size: int, *, run: int = 1
) -> list[int]:
    """Each hospital signs an alignment outcome of ``shared_size``; ``relay`` records it.

    A benchmark has no PSI run to take the sizes from; the ledger needs a record before a
    hospital's update weighs anything. Returns the gas of each recording.
    """
    gas = []
    for k, account in enumerate(hospitals):
        hospital = relay.as_account(account)
        digest = bytes([k + 1]) * 32
        signature = hospital.sign_alignment(run, digest, shared_size)
        result = relay.record_alignment(
            account.address, run, digest, shared_size, 1_000_000, signature
        )
        gas.append(result.gas_used)
    return gas
