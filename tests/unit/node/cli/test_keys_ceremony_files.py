import json
import stat

import pytest

from node.cli.keys import MANIFEST_FILE, PUBLIC_KEY_FILE, share_file_name, write_ceremony
from node.crypto import blob_id, decode_key_share, decode_public_key, new_consortium_key
from node.errors import ConfigError


@pytest.fixture(scope="module")
def ceremony():
    return new_consortium_key(miners=3, threshold=2, n_bits=1024)


def test_ceremony_writes_public_key_private_shares_and_manifest(tmp_path, ceremony) -> None:
    pk_blob, share_blobs = ceremony
    out = tmp_path / "keys"

    manifest = write_ceremony(out, pk_blob, share_blobs)

    assert (out / PUBLIC_KEY_FILE).read_bytes() == pk_blob
    pk = decode_public_key(pk_blob)
    for i in (1, 2, 3):
        path = out / share_file_name(i)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert decode_key_share(path.read_bytes(), pk).index == i
    on_disk = json.loads((out / MANIFEST_FILE).read_text())
    assert on_disk == manifest
    assert on_disk["public_key_id"] == blob_id(pk_blob).hex()
    assert (on_disk["threshold"], on_disk["miners"]) == (2, 3)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [PUBLIC_KEY_FILE, MANIFEST_FILE, *(share_file_name(i) for i in (1, 2, 3))]
    )


def test_ceremony_never_overwrites_and_leaves_nothing_half_written(tmp_path, ceremony) -> None:
    out = tmp_path / "keys"
    out.mkdir()
    (out / "old.share").write_bytes(b"keep me")

    with pytest.raises(ConfigError, match="already exists"):
        write_ceremony(out, *ceremony)

    assert [p.name for p in out.iterdir()] == ["old.share"]
    assert [p.name for p in tmp_path.iterdir()] == ["keys"]


def test_ceremony_into_an_existing_empty_directory(tmp_path, ceremony) -> None:
    out = tmp_path / "empty"
    out.mkdir()

    write_ceremony(out, *ceremony)

    assert (out / PUBLIC_KEY_FILE).exists()


def test_keep_existing_keeps_a_matching_ceremony_and_refuses_another_shape(tmp_path, ceremony):
    from typer.testing import CliRunner

    from node.cli.keys import app

    pk_blob, share_blobs = ceremony
    out = tmp_path / "keys"
    write_ceremony(out, pk_blob, share_blobs)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    runner = CliRunner()
    args = ["init", "--miners", "3", "--threshold", "2", "--bits", "1024", "--out", str(out)]
    kept = runner.invoke(app, [*args, "--keep-existing"])
    assert kept.exit_code == 0 and "kept the existing ceremony" in kept.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    other = runner.invoke(
        app,
        [
            "init",
            "--miners",
            "4",
            "--threshold",
            "2",
            "--bits",
            "1024",
            "--out",
            str(out),
            "--keep-existing",
        ],
    )
    assert isinstance(other.exception, ConfigError) and "2-of-3" in str(other.exception)
    assert runner.invoke(app, args).exit_code != 0  # without the flag nothing is overwritten
