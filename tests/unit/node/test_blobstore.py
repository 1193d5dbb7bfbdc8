import hashlib
from pathlib import Path

import pytest

from node.blobstore import BlobStore, FileBlobStore, MemoryBlobStore, blob_hash, normalise_hash
from node.errors import IntegrityError, NotFound, ValidationFailed


@pytest.fixture(params=["memory", "file"])
def store(request, tmp_path: Path) -> BlobStore:
    return MemoryBlobStore() if request.param == "memory" else FileBlobStore(tmp_path / "blobs")


def test_put_returns_sha256_and_get_returns_same_bytes(store: BlobStore) -> None:
    digest = store.put(b"encrypted update")
    assert digest == hashlib.sha256(b"encrypted update").hexdigest()
    assert store.get(digest) == b"encrypted update"
    assert store.get("0x" + digest.upper()) == b"encrypted update"
    assert store.get(bytes.fromhex(digest)) == b"encrypted update"


def test_put_is_idempotent_and_listing_has_each_blob_once(store: BlobStore) -> None:
    a = store.put(b"a")
    store.put(b"a")
    b = store.put(b"b")
    assert sorted(store) == sorted([a, b])


def test_missing_blob_is_not_found(store: BlobStore) -> None:
    with pytest.raises(NotFound):
        store.get(blob_hash(b"never stored"))
    assert not store.has(blob_hash(b"never stored"))


def test_replicated_blob_with_wrong_hash_is_refused_and_not_stored(store: BlobStore) -> None:
    with pytest.raises(IntegrityError):
        store.put_expected(b"forged", blob_hash(b"original"))
    assert list(store) == []


def test_malformed_hash_names_the_field() -> None:
    with pytest.raises(ValidationFailed) as err:
        normalise_hash("not-a-hash")
    assert err.value.field == "blob_hash"
    with pytest.raises(ValidationFailed):
        normalise_hash(b"short")


def test_corrupted_file_is_detected_on_read(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    digest = store.put(b"ciphertexts")
    (tmp_path / digest[:2] / digest).write_bytes(b"tampered")
    with pytest.raises(IntegrityError):
        store.get(digest)


def test_file_store_survives_reopen(tmp_path: Path) -> None:
    digest = FileBlobStore(tmp_path).put(b"kept")
    assert FileBlobStore(tmp_path).get(digest) == b"kept"
    assert not list(tmp_path.rglob(".tmp-*"))
