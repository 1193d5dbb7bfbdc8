"""Patient and case identities: the salted national-id token PSI intersects, case natural keys."""

from __future__ import annotations

import hashlib
import hmac
import json

from hospital.emr.records import CaseRecord
from node.errors import ValidationFailed

MIN_SALT_BYTES = 16


def national_id_token(national_id: str, salt: bytes) -> str:
    """HMAC-SHA256 of the normalised national id under the consortium salt, as 64 hex digits.

    Every hospital holding the same salt derives the same token for the same person, so PSI
    can intersect tokens; without the salt a token cannot be tested against guessed ids.
    Spaces and dashes are ignored and letters upper-cased (``"123-45 6789"`` = ``"123456789"``).
    """
    if len(salt) < MIN_SALT_BYTES:
        raise ValidationFailed(
            f"the consortium salt has {len(salt)} bytes; at least {MIN_SALT_BYTES} are needed",
            field="national_id_salt",
            fix="set FEDCHAIN_NATIONAL_ID_SALT to the consortium's shared secret (>= 16 bytes)",
        )
    normalised = "".join(national_id.split()).replace("-", "").upper()
    if not normalised:
        raise ValidationFailed(
            "empty national id", field="national_id", fix="give the id or omit it"
        )
    return hmac.new(salt, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def case_content(case: CaseRecord) -> str:
    """Canonical JSON of a case without its store-assigned id (what a fingerprint covers)."""
    data = case.model_dump(mode="json", exclude={"case_id"})
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def case_key(source: str, ref: str, case: CaseRecord) -> str:
    """The natural key of an imported case: source name, row/resource ref and content.

    Re-importing the same file gives the same keys (so nothing is added twice), while two
    identical rows of one file stay two cases (they are two patients).
    """
    digest = hashlib.sha256()
    for part in (source, ref, case_content(case)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:32]
