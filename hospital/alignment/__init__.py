"""Private sample alignment (patent module 2): ECDH PSI over ristretto255 among hospitals.

Each hospital learns, for each of its own items, how many other hospitals hold it, and
nothing about items it does not hold; it checks the relay's counts with canaries, and the
relay checks every party's key with DLEQ proofs. See docs/design.md, "Alignment (PSI)".
"""

from hospital.alignment.errors import AlignmentRefused, PartyAccused
from hospital.alignment.group import count_other_holders
from hospital.alignment.items import (
    AlignmentPurpose,
    cases_to_train_on,
    item_digest,
    pathology_items,
    pathology_signature,
    shared_set_hash,
)
from hospital.alignment.links import LocalLink, PartyLink, WireLog
from hospital.alignment.party import AlignmentParty, PartyResult
from hospital.alignment.relay import Relay, run_alignment
from hospital.alignment.summary import RunSummary
from hospital.alignment.terms import AlignmentTerms

__all__ = [
    "AlignmentParty",
    "AlignmentPurpose",
    "AlignmentRefused",
    "AlignmentTerms",
    "LocalLink",
    "PartyLink",
    "PartyAccused",
    "PartyResult",
    "Relay",
    "RunSummary",
    "WireLog",
    "cases_to_train_on",
    "count_other_holders",
    "item_digest",
    "pathology_items",
    "pathology_signature",
    "run_alignment",
    "shared_set_hash",
]
