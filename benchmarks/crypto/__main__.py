"""python -m benchmarks.crypto: value-by-value phe vs packed threshold Paillier, 2048-bit keys."""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.crypto.measure import (
    CIPHERTEXT_BYTES,
    PackedRound,
    PerValue,
    measure_packed,
    measure_value_by_value,
    timed,
)
from node.crypto import PackingSpec, decode_key_share, decode_public_key, new_consortium_key
from node.crypto.paillier import default_workers

TARGET_SECONDS = 15.0
CLIP = 0.05  # model-update values are drawn uniformly in ±CLIP


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--sizes", default="10000,100000", help="parameter counts, comma-separated")
    p.add_argument("--hospitals", default="3,8", help="hospital counts, comma-separated")
    p.add_argument("--sample", type=int, default=500, help="values measured value by value")
    p.add_argument("--value-bits", type=int, default=8, help="quantisation bits per value")
    p.add_argument("--workers", type=int, default=default_workers())
    p.add_argument("--bits", type=int, default=2048)
    return p.parse_args()


def _consortium(hospitals: int, bits: int):
    miners, threshold = hospitals, hospitals // 2 + 1  # one miner per hospital, majority
    (pk_blob, share_blobs), t = timed(
        lambda: new_consortium_key(miners=miners, threshold=threshold, n_bits=bits)
    )
    pk = decode_public_key(pk_blob)
    return pk, {s.index: s for s in (decode_key_share(b, pk) for b in share_blobs)}, t


def _fmt_s(x: float) -> str:
    return f"{x:,.2f} s" if x < 100 else f"{x:,.0f} s"


def _fmt_b(x: float) -> str:
    return f"{x / 1e6:,.2f} MB" if x >= 1e6 else f"{x / 1e3:,.1f} kB"


def _round_table(n: int, h: int, t: int, base: PerValue, packed: PackedRound, load: str) -> Table:
    per_partial = base.partial.cpu + base.verify_combine.cpu
    vbv = {
        "encrypt (all hospitals)": h * n * base.encrypt.cpu,
        "homomorphic sum": (h - 1) * n * base.add.cpu,
        f"threshold decrypt ({t} partials/ct + checks)": n * t * per_partial,
    }
    pk_rows = {
        "encrypt (all hospitals)": packed.encrypt_cold,
        "homomorphic sum": packed.aggregate,
        f"threshold decrypt ({t} partials/ct + checks)": packed.partials,
    }
    pk_rows[f"threshold decrypt ({t} partials/ct + checks)"] = type(packed.partials)(
        packed.partials.wall + packed.combine.wall, packed.partials.cpu + packed.combine.cpu
    )
    table = Table(
        title=f"{n:,} parameters, {h} hospitals, {t}-of-{h} miners: "
        f"{packed.ciphertexts} ciphertexts/update; load {load}"
    )
    for col in (
        "step",
        f"value-by-value phe, CPU (extrapolated from {base.sample} values)",
        "packed CPU",
        "packed wall",
        "CPU speed-up",
    ):
        table.add_column(col, justify="right" if col != "step" else "left")
    for step, v in vbv.items():
        p = pk_rows[step]
        table.add_row(step, _fmt_s(v), _fmt_s(p.cpu), _fmt_s(p.wall), f"{v / p.cpu:,.0f}x")
    total_v = sum(vbv.values())
    cold_cpu = sum(x.cpu for x in pk_rows.values())
    cold_wall = sum(x.wall for x in pk_rows.values())
    table.add_row(
        "[b]round, cold",
        _fmt_s(total_v),
        _fmt_s(cold_cpu),
        _fmt_s(cold_wall),
        f"{total_v / cold_cpu:,.0f}x",
    )
    pooled = cold_cpu - packed.encrypt_cold.cpu + packed.encrypt_pooled.cpu
    pooled_wall = cold_wall - packed.encrypt_cold.wall + packed.encrypt_pooled.wall
    pooled_v = total_v - vbv["encrypt (all hospitals)"] + h * n * base.encrypt_precomputed.cpu
    table.add_row(
        "[b]round, obfuscators precomputed (both sides)",
        _fmt_s(pooled_v),
        _fmt_s(pooled),
        _fmt_s(pooled_wall),
        f"{pooled_v / pooled:,.0f}x",
    )
    table.add_row(
        "  precomputing the obfuscators (while training)",
        _fmt_s(h * n * (base.encrypt.cpu - base.encrypt_precomputed.cpu)),
        _fmt_s(packed.precompute.cpu),
        _fmt_s(packed.precompute.wall),
        "",
    )
    v_up, p_up = n * CIPHERTEXT_BYTES, packed.update_bytes
    table.add_row(
        "bytes per hospital update", _fmt_b(v_up), _fmt_b(p_up), "", f"{v_up / p_up:,.0f}x smaller"
    )
    v_pd = n * t * CIPHERTEXT_BYTES
    table.add_row(
        "bytes of partial decryptions",
        _fmt_b(v_pd),
        _fmt_b(packed.partial_bytes),
        "",
        f"{v_pd / packed.partial_bytes:,.0f}x smaller",
    )
    table.add_row(
        "max error of the mean / bound",
        "",
        f"{packed.max_error:.2e}",
        f"{packed.error_bound:.2e}",
        "",
    )
    return table


def _precision_table(n: int, h: int, t: int, packed: PackedRound, bits: int) -> Table:
    enc_ct = packed.encrypt_cold.cpu / (h * packed.ciphertexts)
    dec_ct = (packed.partials.cpu + packed.combine.cpu) / (t * packed.ciphertexts)
    table = Table(
        title=f"precision vs cost, {n:,} parameters, {h} hospitals (projected from "
        "this run's per-ciphertext CPU, divided by 2 cores)"
    )
    for col in (
        "value bits",
        "max total weight",
        "slot bits",
        "values/ct",
        "ciphertexts",
        "mean error bound (clip 0.05)",
        "round cold",
        "round precomputed",
    ):
        table.add_column(col, justify="right")
    for value_bits, weight in ((6, h), (7, h), (8, h), (8, 16 * h), (10, h), (12, h), (16, h)):
        spec = PackingSpec(value_bits=value_bits, clip=CLIP, max_updates=h, max_total_weight=weight)
        c = spec.ciphertext_count(n, bits)
        cold = c * (h * enc_ct + t * dec_ct) / 2
        table.add_row(
            str(value_bits),
            str(weight),
            str(spec.slot_bits),
            str(spec.slots_per_plaintext(bits)),
            str(c),
            f"{spec.scale / 2:.1e}",
            _fmt_s(cold),
            _fmt_s(c * t * dec_ct / 2),
        )
    return table


def main() -> None:
    args = _args()
    console = Console(width=150)
    sizes = [int(x) for x in args.sizes.split(",")]
    hospital_counts = [int(x) for x in args.hospitals.split(",")]
    console.print(
        f"cores {os.cpu_count()}, workers {args.workers}, load {os.getloadavg()}, "
        f"{args.bits}-bit keys, {args.value_bits}-bit values, clip ±{CLIP}"
    )
    rng = np.random.default_rng(2026)
    baseline: PerValue | None = None
    for h in hospital_counts:
        pk, shares, keygen = _consortium(h, args.bits)
        t = pk.threshold
        console.print(f"dealt {t}-of-{h} key in {keygen.wall:.2f} s")
        if baseline is None:
            baseline = measure_value_by_value(pk, shares[1], args.sample, rng)
            console.print(
                f"value by value, per value: encrypt {baseline.encrypt.cpu * 1e3:.1f} ms, "
                f"add {baseline.add.cpu * 1e6:.0f} us, partial decryption "
                f"{baseline.partial.cpu * 1e3:.1f} ms, proof check + combine "
                f"{baseline.verify_combine.cpu * 1e3:.2f} ms (CPU, one thread)"
            )
        spec = PackingSpec(value_bits=args.value_bits, clip=CLIP, max_updates=h, max_total_weight=h)
        for n in sizes:
            updates = [rng.uniform(-CLIP, CLIP, n) for _ in range(h)]
            start = time.perf_counter()
            packed = measure_packed(pk, shares, spec, updates, workers=args.workers)
            load = "/".join(f"{x:.1f}" for x in os.getloadavg())
            console.print(_round_table(n, h, t, baseline, packed, load))
            if h == 3 and n == max(sizes):
                cold = (
                    packed.encrypt_cold.cpu
                    + packed.aggregate.cpu
                    + packed.partials.cpu
                    + packed.combine.cpu
                )
                pooled = cold - packed.encrypt_cold.cpu + packed.encrypt_pooled.cpu
                wall = (
                    packed.encrypt_cold.wall
                    + packed.aggregate.wall
                    + packed.partials.wall
                    + packed.combine.wall
                )
                console.print(
                    f"[b]whole 3-hospital round, {n:,} parameters[/]: measured wall "
                    f"{wall:.1f} s cold on this shared machine (load {load}); CPU {cold:.1f} s "
                    f"cold / {pooled:.1f} s precomputed -> {cold / 2:.1f} s / {pooled / 2:.1f} s "
                    f"on 2 free cores; target {TARGET_SECONDS:.0f} s"
                )
                console.print(_precision_table(n, h, t, packed, args.bits))
            console.print(f"(config took {time.perf_counter() - start:.0f} s)\n")


if __name__ == "__main__":
    main()
