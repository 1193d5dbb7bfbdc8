"""The operator's round plan: genesis first, then the last sealed model, the spec reused."""

import numpy as np
import pytest

from node.blobstore import blob_hash
from node.chain.models import RoundStatus
from node.errors import FedchainError, ValidationFailed
from node.fedopt import decode_global_model
from node.modelspec import ModelSpec
from node.roundopen import ZERO_HASH, plan_round

SPEC = ModelSpec(n_params=5, public_key_id="ab" * 32)
WEIGHTS = np.arange(5, dtype=np.float32)


def test_first_round_publishes_spec_and_a_genesis_model_it_starts_from():
    plan = plan_round(
        current_round=0,
        current_status=RoundStatus.NONE,
        current_spec_hash=ZERO_HASH,
        sealed_hash="0x" + ZERO_HASH,
        spec=SPEC,
        initial_weights=WEIGHTS,
    )
    assert plan.round_id == 1 and plan.genesis
    spec_blob, genesis_blob = plan.blobs
    assert blob_hash(spec_blob) == plan.spec_hash
    assert blob_hash(genesis_blob) == plan.prev_model_hash
    genesis = decode_global_model(genesis_blob)
    assert genesis.round == 0 and genesis.spec_hash == plan.spec_hash
    assert np.array_equal(genesis.weights, WEIGHTS)


def test_later_round_starts_from_the_sealed_model_and_reuses_the_spec():
    plan = plan_round(
        current_round=1,
        current_status=RoundStatus.SEALED,
        current_spec_hash="0x" + "cd" * 32,
        sealed_hash="0x" + "ef" * 32,
        spec=None,
        initial_weights=None,
    )
    assert (plan.round_id, plan.prev_model_hash, plan.spec_hash) == (2, "ef" * 32, "cd" * 32)
    assert plan.blobs == [] and not plan.genesis


def test_after_a_rejected_first_round_the_genesis_model_is_published_again():
    plan = plan_round(
        current_round=1,
        current_status=RoundStatus.REJECTED,
        current_spec_hash="cd" * 32,
        sealed_hash=ZERO_HASH,
        spec=SPEC,
        initial_weights=WEIGHTS,
    )
    assert plan.round_id == 2 and plan.genesis


def test_first_round_without_initial_weights_names_the_missing_field():
    with pytest.raises(ValidationFailed) as err:
        plan_round(
            current_round=1,
            current_status=RoundStatus.REJECTED,
            current_spec_hash="cd" * 32,
            sealed_hash=ZERO_HASH,
            spec=None,
            initial_weights=None,
        )
    assert err.value.field == "initial_weights"


def test_a_round_still_running_cannot_be_followed_by_another():
    with pytest.raises(FedchainError, match="still open"):
        plan_round(
            current_round=3,
            current_status=RoundStatus.OPEN,
            current_spec_hash="cd" * 32,
            sealed_hash="ef" * 32,
            spec=None,
            initial_weights=None,
        )
