"""`fedchain keys init` end to end: the dealer runs in a child process that exits."""

import subprocess
import sys
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from node.cli.keys import PUBLIC_KEY_FILE, app, share_file_name
from node.crypto import (
    PackingSpec,
    aggregate_updates,
    combine,
    decode_key_share,
    decode_public_key,
    encrypt_update,
    partial_decrypt,
)


def test_keys_init_deals_shares_that_decrypt_together(tmp_path: Path) -> None:
    out = tmp_path / "ceremony"

    result = CliRunner().invoke(
        app, ["init", "--miners", "3", "--threshold", "2", "--out", str(out), "--bits", "1024"]
    )

    assert result.exit_code == 0, result.output
    assert "dealer kept nothing" in result.output
    pk = decode_public_key((out / PUBLIC_KEY_FILE).read_bytes())
    shares = [decode_key_share((out / share_file_name(i)).read_bytes(), pk) for i in (1, 3)]
    spec = PackingSpec(value_bits=8, max_updates=2, max_total_weight=2)
    values = np.linspace(-1, 1, 50)
    updates = [encrypt_update(pk, spec, values, weight=1) for _ in range(2)]
    aggregate = aggregate_updates(pk, updates)
    decrypted = combine(pk, aggregate, [partial_decrypt(pk, s, aggregate) for s in shares])
    assert np.max(np.abs(decrypted.mean - values)) <= spec.scale / 2 * (1 + 1e-9)


def test_keys_init_through_the_fedchain_script_refuses_a_used_directory(tmp_path: Path) -> None:
    fedchain = Path(sys.executable).parent / "fedchain"
    out = tmp_path / "ceremony"
    args = [
        str(fedchain),
        "keys",
        "init",
        "--miners",
        "2",
        "--threshold",
        "2",
        "--out",
        str(out),
        "--bits",
        "1024",
    ]

    first = subprocess.run(args, capture_output=True, text=True, timeout=120)
    second = subprocess.run(args, capture_output=True, text=True, timeout=120)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 2
    assert "already exists" in second.stderr and "fix:" in second.stderr


def test_keys_init_refuses_a_threshold_above_the_miner_count(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["init", "--miners", "2", "--threshold", "3", "--out", str(tmp_path / "k")]
    )

    assert result.exit_code != 0
    assert not (tmp_path / "k").exists()
