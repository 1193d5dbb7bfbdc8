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
