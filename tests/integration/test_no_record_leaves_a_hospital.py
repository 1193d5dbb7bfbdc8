"""No patient record and no plaintext update leaves a hospital: a round's traffic, searched.

A 3-hospital network (1024-bit key, 600 cases) aligns by PSI and runs one encrypted round
while tcpdump captures, on ``lo``, every TCP port through which data leaves a hospital: the
miners' (hospital→miner, miner↔miner), the hospitals' (the PSI relay↔hospitals) and anvil's
(hospital/miner→chain RPC). No doctor query runs, so nothing captured is inside a hospital.
The raw capture, every reassembled stream, every HTTP body (de-chunked, un-gzipped) and every
base64/hex run in them (decoded) are searched for values read from the hospitals' own stores
and for the float bytes of a hospital's own local delta, recomputed here.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
from rich.console import Console

from hospital.datagen.generate import generate_hospitals
from hospital.emr.records import CaseRecord
from hospital.emr.store import open_store
from hospital.service.alignment import AlignmentBook
from hospital.service.consortium_model import CaseTrainer, case_data
from hospital.service.rounds import model_layout
from hospital.training import TrainConfig
from node.blobstore import blob_hash
from node.chain.ledgerview import LedgerView
from node.cli.demo import align, run_round
from node.cli.round import admin_ledger
from node.config import Settings
from node.crypto import DecryptedAggregate, combine, decode_public_key
from node.crypto.packing import cap_weights
from node.netup import EMR, Network, NetworkOptions
from node.roundmath import share_index
from tests.integration.loopcapture import (
    CannotCapture,
    LoopCapture,
    decoded_runs,
    http_bodies,
    read_pcap,
    tcp_streams,
)

OPTIONS = dict(hospitals=3, key_bits=1024, cases=600)
MAX_SHARE_PPM = Settings().max_share_ppm  # what `network init` deploys the ledger with
PSEUDONYM = re.compile(rb"hospital-\d+-p\d{6}")
NATIONAL_ID = re.compile(rb"NID\d{9}")
TOKEN = re.compile(rb"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def _stores(net: Network) -> dict[str, list[CaseRecord]]:
    out = {}
    for name in net.hospital_names:
        store = open_store(f"sqlite:///{net.data_dir / EMR / (name + '.sqlite')}")
        try:
            out[name] = list(store.iter_cases())
        finally:
            store.close()
    return out


def _tokens(net: Network) -> set[str]:
    tokens: set[str] = set()
    for name in net.hospital_names:
        store = open_store(f"sqlite:///{net.data_dir / EMR / (name + '.sqlite')}")
        try:
            tokens |= set(store.national_tokens().values())
        finally:
            store.close()
    return tokens


def _case_needles(cases: list[CaseRecord], count: int) -> list[bytes]:
    """Long, case-specific JSON fragments: symptom lists, lab objects, the whole case."""
    out: list[bytes] = []
    for case in cases[:count]:
        dumped = json.loads(case.model_dump_json())
        out.append(case.model_dump_json().encode())
        if len(case.symptoms) >= 2:
            out.append(json.dumps(dumped["symptoms"], separators=(",", ":")).encode())
            out.append(json.dumps(dumped["symptoms"]).encode())
        for lab in case.labs:
            out.append(lab.model_dump_json().encode())
            out.append(f'"name":"{lab.name}","value":{lab.value!r}'.encode())
    return out


def _own_delta(net: Network, name: str, genesis: np.ndarray) -> tuple[np.ndarray, int]:
    """One hospital's round-1 Δ and claimed sample count, recomputed from its own state."""
    book = AlignmentBook(
        open_store(f"sqlite:///{net.data_dir / EMR / (name + '.sqlite')}"),
        net.data_dir / name / "alignment" / name,
    )
    try:
        cases = book.training_cases(min_other_holders=1)
        v1, v2, spec = model_layout(list(net.options.hidden))
        trainer = CaseTrainer(spec, case_data(cases, v1, v2), TrainConfig(**net.options.train))
        delta, trained = trainer.train(genesis.copy())
        return delta, min(trained, book.recorded_shared_cases())
    finally:
        book.store.close()


def _round_one_total(net: Network) -> DecryptedAggregate:
    """Round 1's aggregate, decrypted from the miners' blobs (what the chain sealed)."""
    assert net.network is not None
    _, ledger = admin_ledger(net.settings(devnet_account=0))
    view = LedgerView()
    view.catch_up(ledger, net.network.ledger_block)
    r = view.rounds[1]

    def blob(digest: str) -> bytes:
        reply = httpx.get(f"{net.miner_urls[0]}/blobs/{digest}", timeout=30)
        assert reply.status_code == 200 and blob_hash(reply.content) == digest
        return reply.content

    partials = [blob(h) for hs in r.partials.values() for h in hs]
    submitters = [share_index(view.miner_index(m)) for m, hs in r.partials.items() for _ in hs]
    public_key = decode_public_key((net.key_dir / "consortium.pub").read_bytes())
    return combine(public_key, blob(r.aggregate_hash), partials, submitters=submitters)


def _delta_needles(delta: np.ndarray) -> list[bytes]:
    """Runs of 8 consecutive non-zero weights (32 B as float32, 64 B as float64)."""
    d32 = np.asarray(delta, np.float32)
    starts = [
        i
        for i in range(0, d32.size - 8, max(1, d32.size // 24))
        if np.count_nonzero(d32[i : i + 8]) == 8
    ]
    out = []
    for i in starts:
        out += [
            d32[i : i + 8].tobytes(),
            d32[i : i + 8].astype(np.float64).tobytes(),
            d32[i : i + 8].astype(">f4").tobytes(),
        ]
    return out


@pytest.mark.slow
def test_a_rounds_loopback_traffic_carries_no_record_and_no_plaintext_update(tmp_path: Path):
    console = Console(file=io.StringIO(), width=200)
    pcap_path = tmp_path / "round.pcap"
    with Network(tmp_path / "net", NetworkOptions(**OPTIONS)) as net:  # type: ignore[arg-type]
        assert net.chain is not None
        miner_ports = [_port(u) for u in net.miner_urls]
        ports = miner_ports + [_port(u) for u in net.hospital_urls] + [_port(net.chain.rpc_url)]
        try:
            with LoopCapture(pcap_path, ports) as capture:
                align(net, console)
                assert run_round(net, console, timeout=300) == "sealed"
        except CannotCapture as exc:
            pytest.skip(f"cannot capture loopback traffic here: {exc}")
        total = _round_one_total(net)
        stores = _stores(net)
        tokens = _tokens(net)
        genesis = np.asarray(np.load(net.genesis_weights), np.float32)
        deltas = [_own_delta(net, name, genesis) for name in net.hospital_names]
    assert capture.dropped() == 0, capture.report
    # the recomputed deltas are the ones the hospitals encrypted: their weighted mean is
    # the decrypted aggregate's within its rounding bound (~1e-5, where a delta trained any
    # other way would differ by ~1e-2), so searching for their bytes is a real search
    # each weight as the miners applied it: at most the ledger's share of the total
    capped = cap_weights([n for _, n in deltas], MAX_SHARE_PPM)
    weights = sum(capped)
    assert total.total_weight == weights
    expected = (
        sum(n * d.astype(np.float64) for (d, _), n in zip(deltas, capped, strict=True)) / weights
    )
    assert np.max(np.abs(total.mean - expected)) <= total.error_bound / weights + 1e-9
    delta, trained = deltas[0]

    pcap = read_pcap(pcap_path)
    streams = tcp_streams(pcap)
    bodies = [b for s in streams.values() for b in http_bodies(s)]
    decoded = [d for b in bodies for d in decoded_runs(b)]
    haystacks = [pcap.raw, *streams.values(), *bodies, *decoded]

    # not vacuous: the three encrypted updates crossed, and were decoded from their base64
    submissions = [json.loads(b) for b in bodies if b.startswith(b"{") and b'"blob_b64"' in b]
    uploads = {s["blob_hash"] for s in submissions}
    assert len(uploads) >= 3, f"{len(submissions)} update submissions captured"
    assert any(blob_hash(d) in uploads for d in decoded if len(d) > 4096)
    assert pcap.payload_bytes(miner_ports) > 100_000
    assert trained > 0 and np.count_nonzero(delta) > 1000  # inputs never seen stay at 0
    # the float search finds model bytes that do travel: the genesis model published to miners
    assert any(n in h for n in _delta_needles(genesis) for h in haystacks)

    # every pseudonym and national id seen anywhere must not be a patient's
    patients = {c.patient_id.encode() for cases in stores.values() for c in cases}
    national_ids = {
        g.national_id.encode()
        for lib in generate_hospitals(OPTIONS["hospitals"], OPTIONS["cases"], net.options.seed)
        for g in lib.cases
    }
    assert len(patients) > 300 and len(national_ids) > 300 and len(tokens) > 300
    seen_pseudonyms = {m for h in haystacks for m in PSEUDONYM.findall(h)}
    seen_ids = {m for h in haystacks for m in NATIONAL_ID.findall(h)}
    seen_tokens = {m.decode() for h in haystacks for m in TOKEN.findall(h)}
    assert not seen_pseudonyms & patients
    assert not seen_ids & national_ids
    assert not seen_tokens & tokens
    assert seen_tokens  # the 64-hex search sees the blob hashes that do travel
    raw_tokens = [bytes.fromhex(t) for t in sorted(tokens)[:40]]

    needles = [n for cases in stores.values() for n in _case_needles(cases, 8)]
    needles += raw_tokens + _delta_needles(delta)
    assert len(needles) > 150
    found = [n for n in needles for h in haystacks if n in h or n.hex().encode() in h]
    assert not found, f"{len(found)} record/update values left a hospital, e.g. {found[0]!r}"
    print(
        f"captured {pcap.packets} packets, {len(pcap.raw):,} B pcap, {len(streams)} streams, "
        f"{len(bodies)} HTTP bodies, {len(decoded)} decoded runs, "
        f"{pcap.payload_bytes(miner_ports):,} B to miners; searched {len(patients)} "
        f"pseudonyms, {len(national_ids)} national ids, {len(tokens)} tokens, "
        f"{len(needles)} record/Δ byte strings"
    )
