import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from node.requestauth import (
    HEADER_ADDRESS,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    AuthError,
    ReplayGuard,
    request_digest,
    sign_request,
    verify_request,
)

HOSPITAL = Account.from_key("0x" + "11" * 32)
OTHER = Account.from_key("0x" + "22" * 32)


def test_signed_request_verifies_to_its_sender() -> None:
    headers = sign_request(HOSPITAL, "post", "/updates", b"{}", now=1000)
    signer = verify_request(headers, "POST", "/updates", b"{}", guard=ReplayGuard(), now=1001)
    assert signer == HOSPITAL.address


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", "/updates", b"{}"), ("POST", "/blobs", b"{}"), ("POST", "/updates", b'{"n":1}')],
)
def test_changing_method_path_or_body_breaks_the_signature(method, path, body) -> None:
    headers = sign_request(HOSPITAL, "POST", "/updates", b"{}", now=1000)
    with pytest.raises(AuthError, match="not the claimed"):
        verify_request(headers, method, path, body, guard=ReplayGuard(), now=1000)


def test_replayed_request_is_refused() -> None:
    guard = ReplayGuard()
    headers = sign_request(HOSPITAL, "POST", "/updates", b"x", now=1000)
    verify_request(headers, "POST", "/updates", b"x", guard=guard, now=1000)
    with pytest.raises(AuthError, match="replay"):
        verify_request(headers, "POST", "/updates", b"x", guard=guard, now=1001)


def test_stale_request_is_refused() -> None:
    headers = sign_request(HOSPITAL, "POST", "/updates", b"x", now=1000)
    with pytest.raises(AuthError, match="window"):
        verify_request(headers, "POST", "/updates", b"x", guard=ReplayGuard(), now=2000)


def test_claiming_another_address_is_refused() -> None:
    headers = sign_request(HOSPITAL, "POST", "/updates", b"x", now=1000)
    headers["x-fedchain-address"] = OTHER.address
    with pytest.raises(AuthError, match="not the claimed"):
        verify_request(headers, "POST", "/updates", b"x", guard=ReplayGuard(), now=1000)


def test_unsigned_or_garbled_request_names_what_is_missing() -> None:
    with pytest.raises(AuthError, match="missing header"):
        verify_request({}, "POST", "/updates", b"", guard=ReplayGuard(), now=0)
    headers = sign_request(HOSPITAL, "POST", "/u", b"", now=5)
    headers[HEADER_SIGNATURE] = "0x" + "00" * 65
    with pytest.raises(AuthError):
        verify_request(headers, "POST", "/u", b"", guard=ReplayGuard(), now=5)


def test_a_validly_signed_request_with_a_huge_timestamp_is_refused_not_crashing():
    # found by the schemathesis fuzz: 10**400 passed validation, then overflowed the
    # float comparison of the replay window (a 500 for anybody with any key)
    account = Account.create()
    timestamp, nonce = 10**400, "ab" * 16
    digest = request_digest("POST", "/blobs", b"{}", timestamp, nonce)
    signature = account.sign_message(encode_defunct(digest)).signature
    headers = {
        HEADER_ADDRESS: account.address,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: "0x" + bytes(signature).hex(),
    }
    with pytest.raises(AuthError, match="malformed signature headers"):
        verify_request(headers, "POST", "/blobs", b"{}", guard=ReplayGuard())


def test_a_request_replayed_from_many_threads_at_once_is_accepted_once():
    from concurrent.futures import ThreadPoolExecutor

    guard = ReplayGuard()
    headers = sign_request(HOSPITAL, "POST", "/alignment/open", b"x", now=1000)

    def attempt(_: int) -> bool:
        try:
            verify_request(headers, "POST", "/alignment/open", b"x", guard=guard, now=1000)
            return True
        except AuthError:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        accepted = sum(pool.map(attempt, range(64)))

    assert accepted == 1
