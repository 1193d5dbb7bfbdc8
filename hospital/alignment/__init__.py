"""Private sample alignment (patent module 2): ECDH PSI over ristretto255 among hospitals.

Each hospital learns, for each of its own items, how many other hospitals hold it, and
nothing about items it does not hold. See docs/design.md, "Alignment (PSI)".
"""

from hospital.alignment.errors import AlignmentRefused
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
from hospital.alignment.relay import RunSummary, count_other_holders, run_alignment

__all__ = [
    "AlignmentParty",
    "AlignmentPurpose",
    "AlignmentRefused",
    "LocalLink",
    "PartyLink",
    "PartyResult",
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
