"""Round wire messages refuse what the ledger cannot record, as field errors (a 422)."""

import base64

import pytest
from pydantic import ValidationError

from node.roundwire import UINT64_MAX, BlobUpload, UpdateSubmission

GOOD = {
    "round": 1,
    "blob_hash": "ab" * 32,
    "sample_count": 10,
    "signature": "0x" + "cd" * 65,
    "blob_b64": base64.b64encode(b"blob").decode(),
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("round", UINT64_MAX + 1),
        ("sample_count", 2**256),
        ("blob_b64", "not*base64"),
    ],
)
def test_submission_refuses_values_the_chain_or_the_blob_cannot_hold(field, value):
    # found by the miner fuzz: each of these was a 500 (uint64 encoding, base64 decoding)
    with pytest.raises(ValidationError) as err:
        UpdateSubmission.model_validate({**GOOD, field: value})
    assert err.value.errors()[0]["loc"] == (field,)


def test_submission_at_the_uint64_limit_is_accepted():
    sub = UpdateSubmission.model_validate({**GOOD, "round": UINT64_MAX, "sample_count": UINT64_MAX})
    assert sub.blob() == b"blob"


def test_blob_upload_refuses_a_blob_that_is_not_base64():
    with pytest.raises(ValidationError, match="not base64"):
        BlobUpload(blob_hash="ab" * 32, blob_b64="%%%")
