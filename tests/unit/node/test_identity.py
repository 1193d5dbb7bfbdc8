"""Devnet accounts, keystores and the refusal of public devnet keys on real chains."""

from __future__ import annotations

import pytest
from eth_account import Account

from node.config import Settings
from node.errors import ConfigError
from node.identity import (
    devnet_account,
    is_devnet_key,
    load_identity,
    load_keystore,
    require_safe_key,
    save_keystore,
)


def test_devnet_accounts_are_anvils_deterministic_ones():
    assert devnet_account(0).address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert devnet_account(1).address == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_devnet_key_is_refused_on_a_chain_that_is_not_a_devnet():
    with pytest.raises(ConfigError) as err:
        require_safe_key(devnet_account(3), chain_id=1)
    assert "not a devnet" in err.value.message
    assert require_safe_key(devnet_account(3), chain_id=31337) is not None
    assert require_safe_key(devnet_account(3), chain_id=1337) is not None


def test_fresh_key_is_accepted_anywhere():
    fresh = Account.create()
    assert not is_devnet_key(fresh)
    assert require_safe_key(fresh, chain_id=1) is fresh


def test_keystore_round_trip_and_wrong_password(tmp_path):
    fresh = Account.create()
    path = save_keystore(fresh, tmp_path / "node.json", "s3cret-pass", scrypt_n=2**10)
    assert load_keystore(path, "s3cret-pass").address == fresh.address
    with pytest.raises(ConfigError):
        load_keystore(path, "wrong")
    with pytest.raises(ConfigError):
        save_keystore(fresh, path, "s3cret-pass", scrypt_n=2**10)


def test_identity_from_settings(tmp_path):
    fresh = Account.create()
    path = save_keystore(fresh, tmp_path / "k.json", "s3cret-pass", scrypt_n=2**10)
    settings = Settings(keystore=path, key_password="s3cret-pass")
    assert load_identity(settings, chain_id=5).address == fresh.address
    with pytest.raises(ConfigError):
        load_identity(Settings(devnet_account=2), chain_id=5)
    assert load_identity(Settings(devnet_account=2), chain_id=31337) == devnet_account(2)
    with pytest.raises(ConfigError):
        load_identity(Settings(), chain_id=31337)
