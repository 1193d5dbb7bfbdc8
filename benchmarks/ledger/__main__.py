"""Ledger gas and wall-time benchmark: `python -m benchmarks.ledger [--rounds N] [--pairs P]`."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.chainsetup import align_as_relay
from node.chain.client import LedgerClient
from node.chain.connect import connect
from node.chain.deploy import deploy_ledger
from node.chain.devnet import Devnet
from node.chain.network import devnet_pair_accounts
from node.identity import devnet_account

UPDATE_TARGET = 120_000
SEAL_TARGET = 300_000


def run_round(admin, hospitals, miners, round_id, prev, gas, batch=True, holdout=False):
    """One full round: every hospital's update proposed, approved to quorum, packed, sealed.

    With ``holdout`` every hospital reports on the candidate first and the seal is gated
    (policy: every hospital's report), so the seal reads the candidate's tally and mints
    with its quality factor.
    """
    n = len(hospitals)
    now = int(admin.w3.eth.get_block("latest")["timestamp"])
    gas["openRound"].append(admin.open_round(round_id, prev, now + 3600, n, b"\x02" * 32).gas_used)
    q = admin.quorum()
    ids = []
    for k in range(n):
        blob = os.urandom(32)
        sig = hospitals[k].sign_update(round_id, blob, 100 + k)
        uid, res = miners[k].propose_update(
            hospitals[k].account.address, round_id, blob, 100 + k, sig
        )
        ids.append(uid)
        gas["proposeUpdate"].append(res.gas_used)
    # each update needs q-1 approvals besides its proposer's: miner k approves the
    # updates of the q-1 miners before it in the ring, in one batch
    approvals_gas = 0
    for j in range(n):
        mine = [ids[(j - d) % n] for d in range(1, q)]
        if batch:
            res = miners[j].approve_updates(mine)
            gas[f"approveUpdates (batch of {len(mine)})"].append(res.gas_used)
            approvals_gas += res.gas_used
        else:
            for uid in mine:
                res = miners[j].approve_update(uid)
                gas["approveUpdate (single)"].append(res.gas_used)
                approvals_gas += res.gas_used
    packer_address = admin.proposer_at(round_id, 0)
    packer = next(m for m in miners if m.account.address == packer_address)
    agg = os.urandom(32)
    gas["commitAggregate"].append(packer.commit_aggregate(round_id, agg, n).gas_used)
    others = [m for m in miners if m is not packer][: q - 1]
    for m in others:
        gas["attestAggregate"].append(m.attest_aggregate(round_id, agg).gas_used)
    for m in [packer, *others]:
        gas["submitPartialDecryption"].append(
            m.submit_partial_decryption(round_id, os.urandom(32)).gas_used
        )
    model = os.urandom(32)
    for m in others:  # the packer's seal is its own candidate vote
        gas["attestCandidate"].append(m.attest_candidate(round_id, model).gas_used)
    gated = ""
    if holdout:
        for k, h in enumerate(hospitals):
            gas["reportHoldout"].append(
                h.report_holdout(round_id, model, 700_000, 710_000 + k).gas_used
            )
        gated = ", hold-out gate"
    gas[f"sealRound ({n} hospitals + {n} miners credited{gated})"].append(
        packer.seal_round(round_id, model).gas_used
    )
    return model, approvals_gas / n


def setup(w3, pairs, *, holdout: int = 0, gas=None):
    """A fresh ledger (hold-out policy fixed at deployment) with ``pairs`` aligned pairs."""
    admin, _ = deploy_ledger(w3, devnet_account(0), holdout_reports=holdout)
    accounts = [devnet_pair_accounts(i) for i in range(pairs)]
    reg = [admin.register_pair(h.address, m.address).gas_used for h, m in accounts]
    hospitals = [admin.as_account(h) for h, _ in accounts]
    miners = [admin.as_account(m) for _, m in accounts]
    recorded = align_as_relay(admin, [h for h, _ in accounts], 10_000)  # the admin relays
    if gas is not None:
        gas["recordAlignment (relay + hospital's signature)"] += recorded
    return admin, hospitals, miners, reg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        chain = Devnet(Path(tmp) / "devnet", state_interval=3600)
        info = chain.start()
        try:
            w3 = connect(info.rpc_url)
            table = Table(title="FederatedLedger gas (anvil 1.7.1, solc 0.8.37 via-IR, cancun)")
            for col in ("operation", "miners", "gas (median)", "target", "ratio"):
                table.add_column(col, justify="right" if col != "operation" else "left")
            per_update: dict[int, float] = {}
            for pairs in (3, 4):
                gas: dict[str, list[int]] = {}
                from collections import defaultdict

                gas = defaultdict(list)
                admin, hospitals, miners, reg = setup(w3, pairs, gas=gas)
                gas["registerPair"] = reg
                prev = b"\x01" * 32
                approve_per_update = []
                for r in range(1, 4):
                    prev, a = run_round(admin, hospitals, miners, r, prev, gas)
                    approve_per_update.append(a)
                prev, _ = run_round(admin, hospitals, miners, 4, prev, gas, batch=False)
                # the hold-out gate is fixed at deployment: a second ledger with it on
                gated = setup(w3, pairs, holdout=pairs)
                sealed, _ = run_round(*gated[:3], 1, b"\x01" * 32, gas, holdout=True)
                run_round(*gated[:3], 2, sealed, gas, holdout=True)
                propose = statistics.median(gas["proposeUpdate"])
                update_total = propose + statistics.median(approve_per_update)
                per_update[pairs] = update_total
                for name, values in gas.items():
                    target = ""
                    ratio = ""
                    if name.startswith("sealRound"):
                        target, ratio = f"{SEAL_TARGET:,}", f"{max(values) / SEAL_TARGET:.2f}"
                    table.add_row(
                        name,
                        str(pairs),
                        f"{int(statistics.median(values)):,}"
                        + (f" (max {max(values):,})" if len(set(values)) > 1 else ""),
                        target,
                        ratio,
                    )
                table.add_row(
                    f"[bold]accepted update = propose + {admin.quorum() - 1} batched approvals",
                    str(pairs),
                    f"[bold]{int(update_total):,}",
                    f"{UPDATE_TARGET:,}",
                    f"{update_total / UPDATE_TARGET:.2f}",
                )
            console.print(table)

            # wall time: write and read back a 4-hospital, N-round history
            admin, hospitals, miners, _ = setup(w3, 4)
            start_block = w3.eth.block_number
            t0 = time.perf_counter()
            prev = b"\x01" * 32
            gas = defaultdict(list)
            for r in range(1, args.rounds + 1):
                prev, _ = run_round(admin, hospitals, miners, r, prev, gas)
            write_s = time.perf_counter() - t0
            txs = sum(len(v) for v in gas.values())
            t0 = time.perf_counter()
            raw = w3.eth.get_logs({"address": admin.contract.address, "fromBlock": start_block})
            raw_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            events = admin.events(from_block=start_block)
            read_s = time.perf_counter() - t0
            reader = LedgerClient(w3, admin.address, devnet_account(0))
            t0 = time.perf_counter()
            rounds = [reader.round(r) for r in range(1, args.rounds + 1)]
            views_s = time.perf_counter() - t0
            wall = Table(
                title=f"4-hospital {args.rounds}-round history (2 shared cores: absolute "
                "times inflated by other work)"
            )
            for col in ("step", "count", "seconds", "per item"):
                wall.add_column(col)
            wall.add_row(
                "write (sign, send, wait receipt)",
                f"{txs} tx",
                f"{write_s:.2f}",
                f"{1000 * write_s / txs:.1f} ms/tx",
            )
            wall.add_row(
                "baseline: raw eth_getLogs, undecoded",
                f"{len(raw)} logs",
                f"{raw_s:.3f}",
                f"{1e6 * raw_s / len(raw):.0f} µs/log",
            )
            wall.add_row(
                "read back all events, decoded to models",
                f"{len(events)} events",
                f"{read_s:.3f}",
                f"{1e6 * read_s / len(events):.0f} µs/event ({read_s / raw_s:.1f}x raw)",
            )
            wall.add_row(
                "read back round storage",
                f"{len(rounds)} rounds",
                f"{views_s:.3f}",
                f"{1000 * views_s / len(rounds):.1f} ms/round",
            )
            console.print(wall)
        finally:
            chain.stop()


if __name__ == "__main__":
    main()
