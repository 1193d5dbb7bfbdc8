"""What hospitals align on: pathology signatures, set commitments for the ledger, case selection.

Two uses share one protocol: canonical pathology signatures (patent module 2, shared samples)
and salted national-id tokens (shared patients; tokens arrive as bytes from hospital/emr).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping
from enum import StrEnum
from fractions import Fraction

from hospital.emr.records import CaseRecord
from node.errors import ValidationFailed

SIGNATURE_PREFIX = b"fedchain/pathology-signature/v1\x00"
_DIGEST_DOMAIN = b"fedchain/psi/v1/item-digest\x00"
_SET_DOMAIN = b"fedchain/psi/v1/shared-set\x00"
SALT_BYTES = 32
PPM = 1_000_000


class AlignmentPurpose(StrEnum):
    """What the items of an alignment run are."""

    PATHOLOGY = "pathology"  # canonical pathology signatures: shared samples
    PATIENTS = "patients"  # salted national-id tokens: shared patients


def _term(name: str) -> str:
    return unicodedata.normalize("NFC", " ".join(name.split())).lower()


def pathology_signature(case: CaseRecord) -> bytes:
    """The case's canonical pathology signature: its symptom set plus its disease code.

    Canonical form: the prefix ``fedchain/pathology-signature/v1`` and a zero byte, then
    compact JSON ``{"icd10": CODE, "symptoms": [...]}`` with symptom names NFC-normalised,
    whitespace collapsed, lower-cased, de-duplicated and sorted, and the ICD-10 code upper-cased.
    Two cases with the same disease and the same set of symptom terms have equal signatures
    whatever the order, case or repetition of their symptoms.
    """
    if case.diagnosis is None:
        raise ValidationFailed(
            f"case {case.case_id or case.patient_id} has no diagnosis",
            field="diagnosis",
            fix="only diagnosed cases have a pathology signature",
        )
    symptoms = sorted({_term(s.name) for s in case.symptoms})
    body = {"icd10": case.diagnosis.disease.icd10.strip().upper(), "symptoms": symptoms}
    return SIGNATURE_PREFIX + json.dumps(
        body, separators=(",", ":"), ensure_ascii=False, sort_keys=True
    ).encode("utf-8")


def pathology_items(cases: Iterable[CaseRecord]) -> list[bytes]:
    """The pathology signatures of the diagnosed cases (a hospital's items for a run)."""
    return [pathology_signature(c) for c in cases if c.diagnosis is not None]


def item_digest(item: bytes) -> bytes:
    """SHA-256 of an item under the item-digest domain (never sent; used in commitments)."""
    return hashlib.sha256(_DIGEST_DOMAIN + item).digest()


def shared_set_hash(items: Iterable[bytes], *, purpose: AlignmentPurpose, salt: bytes) -> bytes:
    """The 32-byte commitment to a shared-item set that the ledger records.

    sha256(``fedchain/psi/v1/shared-set`` || 0 || purpose || 0 || salt || size as 8 bytes
    big-endian || the sorted, de-duplicated item digests). The 32-byte salt is the
    hospital's secret for the run: without it a short set drawn from a small space (a few
    pathology signatures) could be confirmed by guessing, and two hospitals with equal
    sets would publish equal hashes. The hospital keeps the salt to open the commitment
    to an auditor.
    """
    if len(salt) != SALT_BYTES:
        raise ValidationFailed(
            f"salt is {len(salt)} bytes, expected {SALT_BYTES}",
            field="salt",
            fix="use the 32-byte salt kept with the alignment result",
        )
    digests = sorted({item_digest(i) for i in items})
    h = hashlib.sha256(_SET_DOMAIN + purpose.value.encode() + b"\x00" + salt)
    h.update(len(digests).to_bytes(8, "big"))
    for d in digests:
        h.update(d)
    return h.digest()


def cases_to_train_on(
    cases: Iterable[CaseRecord], other_holders: Mapping[bytes, int], *, min_other_holders: int
) -> list[CaseRecord]:
    """The cases whose pathology signature at least ``min_other_holders`` other hospitals hold.

    ``other_holders`` maps this hospital's signatures to the count the alignment run gave;
    a case whose signature was not aligned counts as held by none. Undiagnosed cases have
    no signature and are left out.
    """
    if min_other_holders < 0:
        raise ValidationFailed(
            "min_other_holders must be >= 0",
            field="min_other_holders",
            fix="set it in the round configuration to 1 or more",
        )
    chosen = []
    for case in cases:
        if case.diagnosis is None:
            continue
        if other_holders.get(pathology_signature(case), 0) >= min_other_holders:
            chosen.append(case)
    return chosen


def unique_patient_ppm(
    cases: Iterable[CaseRecord], tokens: Mapping[str, bytes], other_holders: Mapping[bytes, int]
) -> int:
    """u(h) in ppm: the mean over ``cases`` of 1 / (1 + other hospitals holding its patient).

    ``tokens`` maps a patient pseudonym to its national-id token and ``other_holders`` is the
    patient-token alignment's count per token, so a patient treated at k + 1 hospitals
    contributes 1 / (k + 1) through each of them and counts once in total. A patient without
    a token (or not aligned) counts as held by no other hospital. No cases: 10^6 (floor).
    """
    shares = [Fraction(1, 1 + other_holders.get(tokens.get(c.patient_id, b""), 0)) for c in cases]
    if not shares:
        return PPM
    return int(sum(shares, Fraction(0)) * PPM / len(shares))
