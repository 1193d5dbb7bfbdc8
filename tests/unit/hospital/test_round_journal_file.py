"""The submission journal on disk: what it keeps, what it prunes, what it refuses to read."""

from hospital.roundjournal import SubmissionJournal
from node.roundwire import UpdateSubmission


def test_the_journal_keeps_the_last_rounds_and_reads_back_what_it_wrote(tmp_path):
    journal = SubmissionJournal(tmp_path / "j", keep_rounds=2)
    subs = [
        UpdateSubmission(
            round=r,
            blob_hash=f"{r:064x}",
            sample_count=r,
            signature="0x" + "ab" * 65,
            blob_b64="AA==",
        )
        for r in (1, 2, 3)
    ]
    for s in subs:
        journal.keep(s)

    assert journal.sent(1) is None  # pruned: two rounds back
    assert journal.sent(2) == subs[1] and journal.sent(3) == subs[2]
    (tmp_path / "j" / "round-3.json").write_text("{not json")
    assert journal.sent(3) is None  # a damaged file is treated as nothing kept
    assert sorted(p.name for p in (tmp_path / "j").iterdir()) == ["round-2.json", "round-3.json"]
