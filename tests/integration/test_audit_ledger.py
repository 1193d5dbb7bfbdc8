"""The auditor on a real anvil with three real encrypted rounds: history, checks, tampering."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from typer.testing import CliRunner

from node.audit.auditor import Auditor
from node.audit.blobsource import BlobReader, DirectorySource, HttpMinerSource
from node.audit.cli import app as audit_app
from node.audit.export import read_csv, to_csv
from node.audit.models import AuditReport, CheckKind, CheckStatus, RoundOutcome, UpdateOutcome
from node.chain.client import LedgerClient
from node.chain.connect import connect
from node.chain.devnet import free_port
from node.crypto import aggregate_updates
from tests.integration.audit_world import (  # type: ignore[import-not-found]
    SAMPLES,
    AuditWorld,
    blob_path,
    build_audit_world,
    miner_services,
    tampered,
    write_network_file,
)

FEDCHAIN = Path(sys.executable).with_name("fedchain")


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, consortium_key: tuple[bytes, list[bytes]]
) -> Iterator[AuditWorld]:
    w = build_audit_world(tmp_path_factory.mktemp("audit"), consortium_key)
    try:
        yield w
    finally:
        w.devnet.stop()


def _auditor(world: AuditWorld, **kw) -> Auditor:
    reader = BlobReader(
        [DirectorySource(d, name=f"miner-{k}") for k, d in enumerate(world.blob_dirs)]
    )
    return Auditor(world.ledger, reader, world.public_key_file, **kw)


def _failed(report: AuditReport, kind: CheckKind):
    return [c for c in report.checks if c.kind is kind and c.status is CheckStatus.FAILED]


def test_history_shows_rounds_rejections_contributions_and_rewards(world):
    report = _auditor(world).report()
    assert [r.outcome for r in report.rounds] == [
        RoundOutcome.SEALED,
        RoundOutcome.SEALED,
        RoundOutcome.REJECTED,
    ]
    r2 = report.rounds[1]
    (refused,) = [u for u in r2.updates if u.outcome is UpdateOutcome.REFUSED]
    assert sorted(v.reason for v in refused.votes if v.reason) == ["CIPHERTEXT_RANGE"] * 2
    assert [x.reason for x in r2.refusals] == ["DUPLICATE"]
    assert report.rounds[2].rejection_reason.startswith("HOLDOUT_WORSE")
    assert report.rounds[2].mean_holdout_after() < report.rounds[2].mean_holdout_before()
    h0 = world.fed.world.hospitals[0].account.address
    accepted = {(c.round, c.hospital): c.accepted_samples for c in report.contributions}
    assert accepted[(1, h0)] == SAMPLES[0] and accepted[(2, h0)] == 0
    paid = {(c.round, c.hospital): c.credits for c in report.contributions}
    q = round(report.rounds[0].quality_factor * 10**6)  # rate 1, u = 1: samples x q
    assert paid[(1, h0)] == SAMPLES[0] * q // 10**6 > SAMPLES[0]  # round 1 improved the model
    assert paid[(3, h0)] == 0  # a rejected round pays nothing
    assert sum(w.credits for w in report.rewards) == report.total_supply > 0
    packed = [m for m in report.miner_work if m.packed]
    assert [m.round for m in packed] == [1, 2, 3]
    assert sum(m.rejections for m in report.miner_work) == 2


def test_audit_of_the_honest_history_verifies_every_check(world):
    report = _auditor(world).report()
    assert report.verified, report.failures()
    kinds = {c.kind for c in report.checks if c.status is CheckStatus.OK}
    assert kinds == set(CheckKind)
    assert len([c for c in report.checks if c.kind is CheckKind.AGGREGATE]) == 3
    assert len([c for c in report.checks if c.kind is CheckKind.SEALED_MODEL]) == 3
    for account, credits in report.balances.items():
        assert world.ledger.balance_of(account) == credits
    assert world.ledger.total_supply() == report.total_supply


def test_a_corrupted_blob_in_one_miner_store_fails_the_hash_check_naming_it(world):
    update = _auditor(world).report().rounds[0].updates[1]
    path = blob_path(world.blob_dirs[1], update.blob_hash)
    with tampered(path, path.read_bytes()[:-1] + b"\x00"):
        report = _auditor(world).report()
    (failure,) = _failed(report, CheckKind.BLOB_HASH)
    assert update.blob_hash in failure.subject and f"update {update.update_id}" in failure.subject
    assert failure.detail.endswith("miner-1") and failure.round == 1
    assert not report.verified


def test_an_aggregate_replaced_by_the_sum_of_another_set_fails_the_aggregate_check(world):
    r1 = _auditor(world).report().rounds[0]
    key = world.fed.miners[0].public_key
    blobs = [blob_path(world.blob_dirs[0], u.blob_hash).read_bytes() for u in r1.updates[:2]]
    forged = aggregate_updates(key, blobs)  # leaves hospital 2's accepted update out
    paths = [blob_path(d, r1.aggregate_hash) for d in world.blob_dirs]
    with tampered(paths[0], forged), tampered(paths[1], forged), tampered(paths[2], forged):
        report = _auditor(world).report()
    (failure,) = _failed(report, CheckKind.AGGREGATE)
    assert failure.round == 1 and r1.aggregate_hash in failure.subject
    assert "1 accepted updates left out" in failure.detail
    assert any(r1.aggregate_hash in c.subject for c in _failed(report, CheckKind.BLOB_HASH))


def test_report_cli_exports_json_and_csv_that_parse_back(world, tmp_path):
    env = {
        "FEDCHAIN_NETWORK_FILE": str(write_network_file(world, tmp_path / "network.json")),
        "FEDCHAIN_AUDITOR_BLOB_DIRS": ",".join(map(str, world.blob_dirs)),
        "FEDCHAIN_AUDITOR_PUBLIC_KEY": str(world.public_key_file),
    }
    result = CliRunner().invoke(
        audit_app,
        ["report", "--json", str(tmp_path / "a.json"), "--csv", str(tmp_path / "a.csv")],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "VERIFIED" in result.output and "HOLDOUT_WORSE" in result.output
    report = AuditReport.model_validate_json((tmp_path / "a.json").read_text())
    assert report.verified and len(report.rounds) == 3
    rows = read_csv((tmp_path / "a.csv").read_text())
    assert rows and (tmp_path / "a.csv").read_text() == to_csv(report)
    credits = sum(int(r["credits"]) for r in rows if r["table"] == "reward")
    assert credits == report.total_supply
    assert {r["detail"] for r in rows if r["table"] == "refusal"} == {"DUPLICATE"}
    assert all(
        r["status"] == "ok"
        for r in rows
        if r["table"] == "check" and not r["subject"].startswith("blob_hash: hold-out")
    )


def test_report_cli_exits_1_when_a_check_fails(world, tmp_path):
    env = {
        "FEDCHAIN_NETWORK_FILE": str(write_network_file(world, tmp_path / "network.json")),
        "FEDCHAIN_AUDITOR_BLOB_DIRS": str(world.blob_dirs[0]),
        "FEDCHAIN_AUDITOR_PUBLIC_KEY": str(world.public_key_file),
    }
    sealed = _auditor(world).report().rounds[1].new_model_hash
    path = blob_path(world.blob_dirs[0], sealed)
    with tampered(path, b"not the model"):
        result = CliRunner().invoke(audit_app, ["report"], env=env)
    assert result.exit_code == 1
    assert "NOT VERIFIED" in result.output and "sealed global model" in result.output


def test_fedchain_audit_reads_blobs_from_real_miner_services_over_http(world, tmp_path):
    network = write_network_file(world, tmp_path / "network.json")
    with miner_services(world) as urls:
        reader = BlobReader([HttpMinerSource(u) for u in urls])
        assert Auditor(world.ledger, reader, world.public_key_file).report().verified
        world.fed.miners[2].store.put(world.public_key_file.read_bytes())
        env = {
            **os.environ,
            "FEDCHAIN_NETWORK_FILE": str(network),
            "FEDCHAIN_AUDITOR_MINERS": ",".join(urls),
        }  # the key comes from miner 2's store
        out = subprocess.run(
            [str(FEDCHAIN), "audit", "report", "--json", "-"],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    assert json.loads(out.stdout)["verified"] is True


def test_history_survives_an_anvil_restart_and_the_audit_still_verifies(world):
    before = _auditor(world).report()
    old = world.devnet.status()
    assert world.devnet.stop() and world.devnet.status() is None
    info = world.devnet.start()
    assert info.pid != old.pid
    ledger = LedgerClient(connect(info.rpc_url), world.ledger.address, Account.create())
    reader = BlobReader([DirectorySource(d) for d in world.blob_dirs])
    after = Auditor(ledger, reader, world.public_key_file).report()
    assert after.verified, after.failures()
    assert after.rounds == before.rounds and after.block >= before.block
    assert after.balances == before.balances and after.total_supply == before.total_supply


def _serve_env(world: AuditWorld, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "FEDCHAIN_NETWORK_FILE": str(write_network_file(world, tmp_path / "network.json")),
        "FEDCHAIN_AUDITOR_BLOB_DIRS": ",".join(map(str, world.blob_dirs)),
        "FEDCHAIN_AUDITOR_PUBLIC_KEY": str(world.public_key_file),
        **extra,
    }


def test_fedchain_audit_serve_answers_with_a_token_and_stops_by_pid(world, tmp_path):
    token = "serve-test-token-0123456789abcdef"
    port = free_port()
    env = _serve_env(world, tmp_path, FEDCHAIN_AUDITOR_TOKENS=json.dumps([token]))
    proc = subprocess.Popen(
        [str(FEDCHAIN), "audit", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        end = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < end, "auditor service did not come up"
                time.sleep(0.2)
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{url}/api/verification", timeout=30).status_code == 401
        assert httpx.get(f"{url}/api/verification", headers=auth, timeout=30).json()["verified"]
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_fedchain_audit_serve_refuses_a_placeholder_token(world, tmp_path):
    env = _serve_env(world, tmp_path, FEDCHAIN_AUDITOR_TOKENS='["changeme"]')
    out = subprocess.run(
        [str(FEDCHAIN), "audit", "serve"], env=env, capture_output=True, timeout=120, check=False
    )
    assert out.returncode == 2
    assert b"FEDCHAIN_AUDITOR_TOKENS" in out.stderr


def test_without_the_public_key_the_aggregates_are_not_verified(world, tmp_path):
    reader = BlobReader([DirectorySource(d) for d in world.blob_dirs])
    key_id = hashlib.sha256(world.public_key_file.read_bytes()).hexdigest()
    copies = [p for d in world.blob_dirs if (p := blob_path(d, key_id)).exists()]
    for k, path in enumerate(copies):  # the HTTP test put the key into miner 2's store
        path.rename(tmp_path / f"key-{k}")
    try:
        report = Auditor(world.ledger, reader, None).report()
    finally:
        for k, path in enumerate(copies):
            (tmp_path / f"key-{k}").rename(path)
    failed = _failed(report, CheckKind.AGGREGATE)
    assert len(failed) == 3 and all("FEDCHAIN_AUDITOR_PUBLIC_KEY" in c.detail for c in failed)
    assert not report.verified
