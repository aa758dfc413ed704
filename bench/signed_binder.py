"""The signed archival binder of the demo study against the plain binder, in the same run.

Run with ``python -m bench.signed_binder [--runs 3] [--write]``; ``--write`` puts the table
in docs/benchmarks.md. The demo database is built once (as ``ids-app demo`` builds it),
the record of ABC-123 gathered once as the export gathers it; then, each run:

- plain: the binder laid out in pieces and joined (every piece is PDF/A-3b either way);
- signed archival: the sponsor workbook and the CDISC DA file written, the binder laid out
  with them, the audit-trail extract and the manifest attached, then signed by the site
  (pyHanko, PAdES baseline, a visible box on the cover);
- the check a monitor runs on it (``ids-app verify-binder``'s work).

Wall-clock seconds, the median of the runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.desktop import write_section
from ids_app.config import sqlite_url
from ids_app.db import Database, utc_now
from ids_app.demo import build_demo
from ids_app.migrations.schema import prepare_database
from ids_app.reports.archival import Attachment, Manifest, sign_or_keep
from ids_app.reports.audit_data import write_audit_data
from ids_app.reports.binder import write_binder
from ids_app.reports.exports import binder_attachments, record_counts, snapshot
from ids_app.reports.gather import gather_study_record
from ids_app.reports.records import Printing, SiteSignature, StudyRecord
from ids_app.signing.checks import check_signed_file
from ids_app.signing.site import SiteCertificate, create_site_certificate
from ids_app.users.services import get_user

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
PROTOCOL = "ABC-123"


def _record(folder: Path) -> StudyRecord:
    db = Database(sqlite_url(folder / "demo.sqlite"))
    prepare_database(db)
    build_demo(db)
    with snapshot(db) as session:
        record = gather_study_record(session, get_user(session, "tech"), PROTOCOL)
    db.dispose()
    return record


def _plain(record: StudyRecord, printing: Printing, folder: Path) -> Path:
    audit = write_audit_data(record.audit, "plain-audit-trail.csv", folder / "plain.csv")
    write_binder(record, printing, folder / "plain.pdf", audit)
    return folder / "plain.pdf"


def _signed(record: StudyRecord, printing: Printing, folder: Path, site: SiteCertificate) -> Path:
    signing = dataclasses.replace(
        printing, signature=SiteSignature(site.signer_name, site.fingerprint_text)
    )
    data_file = folder / "signed-audit-trail.csv"
    audit = write_audit_data(record.audit, data_file.name, data_file)
    attachments = binder_attachments(record, signing, folder / "signed.pdf", folder)
    attachments.append(Attachment(data_file.name, data_file, "text/csv", "audit trail"))
    manifest = Manifest(
        "audit binder",
        PROTOCOL,
        record.period_text,
        record.edition.label,
        signing,
        record_counts(record),
    )
    write_binder(record, signing, folder / "unsigned.pdf", audit, archive=(manifest, attachments))
    target = folder / "signed.pdf"
    sign_or_keep(folder / "unsigned.pdf", target, site, reason="bench", made_by="bench")
    return target


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write docs/benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        record = _record(folder)
        site = create_site_certificate("Bench Hospital IDS", folder=folder / "signing")
        printing = Printing("Bench, Technician", utc_now(), "1:" + "0" * 64)
        plain, signed, checked = [], [], []
        for _ in range(args.runs):
            plain.append(_timed(lambda: _plain(record, printing, folder)))
            signed.append(_timed(lambda: _signed(record, printing, folder, site)))
            checked.append(_timed(lambda: check_signed_file(folder / "signed.pdf")))
        sizes = {
            path: (folder / path).stat().st_size / 2**20 for path in ("plain.pdf", "signed.pdf")
        }
    rows = sum(len(darf.lines) for darf in record.accountability)
    body = "\n".join(
        [
            "### The signed archival binder (demo study)",
            "",
            f"`python -m bench.signed_binder`: the demo's {PROTOCOL} ({rows} accountability "
            f"lines, {len(record.audit)} audit entries), median of {args.runs} runs, "
            "wall clock from the record gathered to the file written.",
            "",
            "| Binder | Seconds | File size (MiB) |",
            "|---|---:|---:|",
            f"| Plain (PDF/A-3b pieces, joined) | {statistics.median(plain):.2f} "
            f"| {sizes['plain.pdf']:.2f} |",
            f"| Signed archival (workbook, DA, extract, manifest attached; signed) "
            f"| {statistics.median(signed):.2f} | {sizes['signed.pdf']:.2f} |",
            f"| verify-binder on the signed file | {statistics.median(checked):.2f} | |",
        ]
    )
    print(body)
    if args.write:
        write_section(RESULTS, "signed-binder", body)


if __name__ == "__main__":
    main()
