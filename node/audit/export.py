"""Audit report exports: JSON (the whole report) and one flat CSV table (for spreadsheets)."""

from __future__ import annotations

import csv
import io

from node.audit.models import AuditReport

CSV_COLUMNS = [
    "table",
    "round",
    "account",
    "role",
    "pair_index",
    "outcome",
    "samples",
    "credits",
    "settlement",
    "status",
    "subject",
    "detail",
]


def to_json(report: AuditReport) -> str:
    """The report as JSON (parses back with ``AuditReport.model_validate_json``)."""
    return report.model_dump_json(indent=1)


def csv_rows(report: AuditReport) -> list[dict[str, object]]:
    """One row per round, contribution, miner's work, reward and check; blanks where n/a."""
    rows: list[dict[str, object]] = []
    for r in report.rounds:
        rows.append(
            {
                "table": "round",
                "round": r.round,
                "account": r.packer,
                "outcome": r.outcome.value,
                "samples": sum(u.sample_count for u in r.accepted()),
                "credits": r.hospital_credits + r.miner_credits,
                "settlement": r.quality_factor,
                "detail": r.rejection_reason,
            }
        )
        for u in r.updates:
            reasons = sorted({v.reason for v in u.votes if v.reason})
            rows.append(
                {
                    "table": "update",
                    "round": r.round,
                    "account": u.hospital,
                    "role": "hospital",
                    "outcome": u.outcome.value,
                    "samples": u.sample_count,
                    "subject": str(u.update_id),
                    "detail": ";".join(reasons),
                }
            )
        for x in r.refusals:
            rows.append(
                {
                    "table": "refusal",
                    "round": r.round,
                    "account": x.hospital,
                    "role": "hospital",
                    "outcome": "refused",
                    "subject": x.blob_hash,
                    "detail": x.reason,
                }
            )
    for c in report.contributions:
        rows.append(
            {
                "table": "contribution",
                "round": c.round,
                "account": c.hospital,
                "role": "hospital",
                "pair_index": c.pair_index,
                "samples": c.accepted_samples,
                "credits": c.credits,
                "settlement": c.settlement,
            }
        )
    for m in report.miner_work:
        rows.append(
            {
                "table": "miner",
                "round": m.round,
                "account": m.miner,
                "role": "miner",
                "pair_index": m.pair_index,
                "credits": m.credits,
                "detail": f"proposals={m.proposals} approvals={m.approvals} "
                f"rejections={m.rejections} packed={m.packed} "
                f"attested={m.attested} partials={m.partials}",
            }
        )
    for w in report.rewards:
        rows.append(
            {
                "table": "reward",
                "round": w.round,
                "account": w.account,
                "role": w.role,
                "credits": w.credits,
            }
        )
    for k in report.checks:
        rows.append(
            {
                "table": "check",
                "round": "" if k.round is None else k.round,
                "status": k.status.value,
                "subject": f"{k.kind.value}: {k.subject}",
                "detail": k.detail,
            }
        )
    return rows


def to_csv(report: AuditReport) -> str:
    """The flat CSV table (header ``CSV_COLUMNS``)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(report))
    return out.getvalue()


def read_csv(text: str) -> list[dict[str, str]]:
    """Parse an exported CSV back into rows (strings, as a spreadsheet would see them)."""
    return list(csv.DictReader(io.StringIO(text)))
