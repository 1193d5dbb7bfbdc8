"""Dishonest PSI hospitals as real services: the real alignment app, one party method changed.

Run as a process, like `fedchain align serve`:
    python -m tests.adversarial.psi_rogues --behaviour wrong-key --name south \
        --items south.hex --port 8650 --relay 0x... [--results DIR]
Each behaviour is a subclass of the real ``AlignmentParty`` that overrides one method; the
app, router, relay authentication and the rest of the protocol are the product's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from hospital.alignment.auth import AllowedRelays, RelayAuth
from hospital.alignment.group import new_key, raise_points
from hospital.alignment.messages import SessionOpen
from hospital.alignment.party import AlignmentParty, PartyResult, _Session
from hospital.alignment.router import create_app
from hospital.alignment.terms import AlignmentSettings
from hospital.emr.settings import EmrSettings


class WrongKeyParty(AlignmentParty):
    """Raises other owners' batches with a fresh key, not the one it committed to.

    Its proofs are still made with the committed key (what it would claim to have used):
    the owners' items would silently stop matching anywhere without the DLEQ check.
    """

    def raise_batch(self, s: _Session, points: bytes) -> bytes:
        return raise_points(points, new_key(), workers=self._workers, pool=self._pool)


class ProbingParty(AlignmentParty):
    """Sends every item of its file, guessed national-id tokens included, past the cap."""

    def own_items(self, msg: SessionOpen) -> list[bytes]:
        return list(set(self._items_for(msg.purpose)))


BEHAVIOURS: dict[str, type[AlignmentParty]] = {
    "wrong-key": WrongKeyParty,
    "probe": ProbingParty,
}


def main() -> None:
    """Serve one dishonest hospital's alignment endpoints on 127.0.0.1."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--behaviour", choices=sorted(BEHAVIOURS), required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--items", type=Path, required=True, help="hex tokens, one per line")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--relay", action="append", required=True)
    ap.add_argument("--results", type=Path)
    args = ap.parse_args()
    items = [bytes.fromhex(line) for line in args.items.read_text().split()]

    def keep(result: PartyResult) -> None:
        if args.results is not None:
            args.results.mkdir(parents=True, exist_ok=True)
            (args.results / f"{result.session_id}.json").write_text(result.model_dump_json())

    party = BEHAVIOURS[args.behaviour](
        args.name,
        lambda _purpose: items,
        secret=EmrSettings().salt,
        terms=AlignmentSettings().terms(),
        on_result=keep,
    )
    app = create_app(party, RelayAuth(AllowedRelays(args.relay)))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
