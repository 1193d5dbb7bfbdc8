"""The hospital's record of the update it is sending, kept on disk before it goes out.

A hospital killed between sending its update and the round's seal must not train and send
again when it restarts: the chain may already hold its update (a second, different one
would be refused as a duplicate and recorded against it), or its miner may be proposing it.
So the submission (round, blob hash, sample count, signature, the encrypted blob) is written
atomically under the hospital's data directory *before* it is sent; a restarted hospital
that finds its update on chain does nothing, and one that finds only this record sends the
same bytes again (the miner refuses nothing it has not already proposed). It holds only
what the miner receives anyway, so it is no more secret than the wire.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from pydantic import ValidationError

from node.roundwire import UpdateSubmission

_NAME = re.compile(r"^round-(\d+)\.json$")


class SubmissionJournal:
    """One file per round under ``directory``: the submission this hospital sent for it."""

    def __init__(self, directory: Path, *, keep_rounds: int = 2) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.keep_rounds = keep_rounds

    def _path(self, round_id: int) -> Path:
        return self.directory / f"round-{round_id}.json"

    def keep(self, submission: UpdateSubmission) -> None:
        """Write ``submission`` (atomically, fsynced) before it is sent; drop old rounds."""
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        with os.fdopen(fd, "w") as handle:
            handle.write(submission.model_dump_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self._path(submission.round))
        for path in self.directory.iterdir():
            match = _NAME.match(path.name)
            if match and int(match.group(1)) <= submission.round - self.keep_rounds:
                path.unlink(missing_ok=True)

    def sent(self, round_id: int) -> UpdateSubmission | None:
        """The submission kept for ``round_id``, if any (an unreadable file counts as none)."""
        path = self._path(round_id)
        if not path.exists():
            return None
        try:
            submission = UpdateSubmission.model_validate_json(path.read_bytes())
        except (OSError, ValidationError):
            return None  # a torn write cannot happen (atomic replace); a damaged disk can
        return submission if submission.round == round_id else None
