"""`fedchain keys`: the key ceremony that deals the consortium's t-of-m threshold Paillier key."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from node.crypto import blob_id, decode_public_key, new_consortium_key
from node.errors import ConfigError

app = typer.Typer(help="Consortium key ceremony (threshold Paillier).", no_args_is_help=True)

PUBLIC_KEY_FILE = "consortium.pub"
MANIFEST_FILE = "manifest.json"


@app.callback()
def keys() -> None:
    """Consortium key ceremony (threshold Paillier)."""


def share_file_name(index: int) -> str:
    """File name of miner ``index``'s share inside a ceremony directory."""
    return f"miner-{index}.share"


def _no_core_dumps() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):  # not on this platform: nothing more to do
        pass


def deal_in_subprocess(*, miners: int, threshold: int, n_bits: int) -> tuple[bytes, list[bytes]]:
    """Run the dealer in a fresh process that exits afterwards, so p, q and d die with it.

    CPython cannot overwrite an int's memory; an exited process's pages go back to the
    kernel, which zeroes them before any other process gets them. Core dumps are disabled
    in the child. What remains possible: the pages being swapped out while it ran.
    """
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_no_core_dumps) as ex:
        return ex.submit(
            new_consortium_key, miners=miners, threshold=threshold, n_bits=n_bits
        ).result()


def _check_out_dir(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(
            f"{out} already exists and is not an empty directory",
            fix="choose a new --out directory; a ceremony never overwrites keys",
        )


def write_ceremony(out: Path, public_key_blob: bytes, share_blobs: list[bytes]) -> dict:
    """Write the public key, one 0600 share file per miner and a manifest, all or nothing."""
    _check_out_dir(out)
    public_key = decode_public_key(public_key_blob)
    manifest = {
        "public_key_id": blob_id(public_key_blob).hex(),
        "public_key_file": PUBLIC_KEY_FILE,
        "n_bits": public_key.n_bits,
        "miners": public_key.miners,
        "threshold": public_key.threshold,
        "shares": {
            str(i): {"file": share_file_name(i), "sha256": blob_id(b).hex()}
            for i, b in enumerate(share_blobs, start=1)
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (staging / PUBLIC_KEY_FILE).write_bytes(public_key_blob)
        for i, blob in enumerate(share_blobs, start=1):
            fd = os.open(staging / share_file_name(i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        staging.chmod(0o700)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


@app.command("init")
def init(
    miners: Annotated[int, typer.Option(help="Number of miners m (one share each).", min=1)],
    threshold: Annotated[int, typer.Option(help="Shares t needed to decrypt (1..m).", min=1)],
    out: Annotated[Path, typer.Option(help="New directory for the key files.")],
    bits: Annotated[int, typer.Option(help="Bits of the modulus n (2048 for real use).")] = 2048,
    keep_existing: Annotated[
        bool,
        typer.Option(
            help="If --out already holds a ceremony of this shape, keep it and succeed "
            "(for restartable deployments such as docker compose)."
        ),
    ] = False,
) -> None:
    """Deal a t-of-m threshold Paillier key: a public key for hospitals, a share per miner."""
    if threshold > miners:
        raise ConfigError(
            f"--threshold {threshold} exceeds --miners {miners}",
            fix="choose 1 <= threshold <= miners",
        )
    if keep_existing and (out / MANIFEST_FILE).exists():
        kept = json.loads((out / MANIFEST_FILE).read_text())
        if (kept["miners"], kept["threshold"], kept["n_bits"]) != (miners, threshold, bits):
            raise ConfigError(
                f"{out} holds a {kept['threshold']}-of-{kept['miners']} "
                f"{kept['n_bits']}-bit ceremony, not {threshold}-of-{miners} {bits}-bit",
                fix="use another --out, or the same --miners/--threshold/--bits",
            )
        Console().print(f"kept the existing ceremony in {out} (public key {kept['public_key_id']})")
        return
    _check_out_dir(out)
    if bits < 2048:
        Console(stderr=True).print(f"[yellow]warning:[/] {bits}-bit keys are for tests only")
    public_key_blob, share_blobs = deal_in_subprocess(
        miners=miners, threshold=threshold, n_bits=bits
    )
    manifest = write_ceremony(out, public_key_blob, share_blobs)
    console = Console()
    console.print(
        f"public key {manifest['public_key_id']} ({bits} bits, "
        f"{threshold} of {miners}) -> {out / PUBLIC_KEY_FILE}"
    )
    for i, entry in manifest["shares"].items():
        console.print(f"  share {i} -> {out / entry['file']} (give only to miner {i})")
    console.print("the dealer kept nothing: p, q and d lived only in a process that has exited")
