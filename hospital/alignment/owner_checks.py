"""What a hospital checks of the relay before acting: announced sizes and keys, then the counts.

Pure functions over a session's open message and the hospital's own state; each refusal
names the field at fault. ``CanariesFailed`` is the one the hospital keeps evidence of.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hospital.alignment.canaries import Group, canaries_per_party, canary_mismatches
from hospital.alignment.errors import AlignmentRefused
from hospital.alignment.evidence import counts_signer
from hospital.alignment.messages import CountsDelivery, EncodeRequest, SessionOpen


class CanariesFailed(AlignmentRefused):
    """The relay's counts fail a canary: the run is refused and nothing is recorded."""


def check_sizes(
    o: SessionOpen, me: str, own_size: int, commitment: str | None, msg: EncodeRequest
) -> None:
    """Refuse sizes or key commitments that do not match the session, or a set past the cap.

    A size past the cap is refused here too, not only by the relay: a relay colluding with a
    probing hospital would otherwise let it through.
    """
    if set(msg.set_sizes) != set(o.parties):
        raise AlignmentRefused(
            "set_sizes must name exactly the session's parties", field="set_sizes"
        )
    if msg.set_sizes[me] != own_size:
        raise AlignmentRefused(
            f"set_sizes[{me}] is {msg.set_sizes[me]}, this hospital announced {own_size}",
            field="set_sizes",
        )
    terms = o.terms
    canaries = canaries_per_party(o.parties, terms.canaries_per_group)
    for party, size in msg.set_sizes.items():
        if size > terms.max_set_size + canaries:
            raise AlignmentRefused(
                f"{party} announced {size - canaries} items (and {canaries} canaries), "
                f"more than the consortium's cap of {terms.max_set_size}: "
                "it could probe for guessed items",
                field="set_sizes",
                fix=f"run the alignment without {party}, or within the consortium's cap",
            )
    if not terms.proofs:
        return
    if set(msg.key_commitments) != set(o.parties):
        raise AlignmentRefused(
            "key_commitments must name exactly the session's parties", field="key_commitments"
        )
    if msg.key_commitments[me] != commitment:
        raise AlignmentRefused(
            f"key_commitments[{me}] is not the commitment this hospital sent",
            field="key_commitments",
        )


def check_counts(
    o: SessionOpen,
    me: str,
    items: Sequence[bytes],
    canaries: Mapping[bytes, tuple[Group, int]],
    blinded: int,
    msg: CountsDelivery,
) -> None:
    """Refuse counts not signed by the session's relay, malformed, early, or failing a canary.

    ``items`` are the hospital's items and canaries in its secret order; ``blinded`` how many
    other owners' batches it has raised.
    """
    signer = counts_signer(
        msg.relay_signature,
        session_id=msg.session_id,
        run=o.run,
        purpose=o.purpose.value,
        recipient=me,
        relay=o.relay,
        counts=msg.counts,
    )
    if signer is None or signer.lower() != o.relay.lower():
        raise AlignmentRefused(
            f"the counts are not signed by the session's relay {o.relay}",
            field="relay_signature",
            fix="the relay signs each hospital's counts with the account that opened it",
        )
    n = len(o.parties)
    if len(msg.counts) != len(items):
        raise AlignmentRefused(
            f"counts has {len(msg.counts)} entries, this hospital has {len(items)} items",
            field="counts",
            fix="send one count byte per item, in the owner's order",
        )
    if any(c > n - 1 for c in msg.counts):
        raise AlignmentRefused(f"a count exceeds the {n - 1} other parties", field="counts")
    if blinded != n - 1:
        raise AlignmentRefused(
            "counts arrived before every batch went round the ring",
            field="seq",
            fix="deliver counts after the last hop",
        )
    wrong = canary_mismatches(canaries, dict(zip(items, msg.counts, strict=True)))
    if wrong:
        raise CanariesFailed(
            f"{me} refuses run {o.run}: the counts signed by relay {o.relay} fail its canary "
            f"checks ({'; '.join(wrong)}). Nothing was recorded.",
            field="counts",
            fix=f"do not use relay {o.relay}'s counts; re-run with another designated relay "
            "(a hospital that left out or added canaries causes the same refusal)",
        )
