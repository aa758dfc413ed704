"""Whole exports, as the CLI and the desktop's worker thread run them.

Each export reads one snapshot in a read session (no write lock is held while a long PDF
lays out), renders into a temporary file beside the target, and then, in one short unit
of work, writes its audit-trail entry and moves the file into place: a file on disk always
has its entry (21 CFR 11.10(e)), and a refusal, failure or cancellation leaves no file.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from ids_app.audit.anchors import append_anchor, chain_head
from ids_app.audit.trail import record_event
from ids_app.db import Database, utc_now
from ids_app.reports.archival import (
    CSV,
    XLSX,
    Attachment,
    Manifest,
    finish_report,
    sign_or_keep,
)
from ids_app.reports.audit_data import audit_data_target, write_audit_data
from ids_app.reports.binder import write_binder
from ids_app.reports.cdisc import write_da_csv
from ids_app.reports.certificate import (
    certificate_title,
    gather_certificate,
    write_certificate,
)
from ids_app.reports.gather import GATHER_STEPS, gather_study_record
from ids_app.reports.labels import LabelSettings, gather_label, write_label
from ids_app.reports.monitor_visit import gather_monitor_visit, write_monitor_visit
from ids_app.reports.output import check_target, marked, publish, staged
from ids_app.reports.period import WHOLE_RECORD, Period
from ids_app.reports.progress import CancelCheck, ProgressCallback, Steps
from ids_app.reports.records import Edition, Printing, SiteSignature, StudyRecord
from ids_app.signing.pdf import Signed
from ids_app.signing.site import SiteCertificate, site_certificate
from ids_app.studies.models import Study
from ids_app.studies.services import get_study
from ids_app.users.models import User
from ids_app.users.permissions import Action, require

EXPORT_ACTION = "export"
# The binder's layout, the longest part of its export, reported in this many steps.
LAYOUT_STEPS = 20


def record_export(session: Session, actor: User, study_id: int, detail: str) -> None:
    """Write the audit entry of an export: who, what, which edition, when (DESIGN.md)."""
    require(session, actor, Action.EXPORT_RECORDS, study=session.get_one(Study, study_id))
    record_event(
        session,
        actor,
        EXPORT_ACTION,
        table_name=Study.__tablename__,
        record_id=study_id,
        detail=detail,
    )


@dataclass(frozen=True)
class Staged:
    """A complete file waiting beside its target, and the audit detail that goes with it."""

    temporary: Path
    target: Path
    detail: str


def _publish(db: Database, actor: User, study_id: int, files: list[Staged]) -> None:
    """Record every file's export and move the files into place, together or not at all."""
    published: list[Path] = []
    try:
        with db.unit_of_work() as session:
            for item in files:
                record_export(session, actor, study_id, item.detail)
            session.flush()  # the entries are written before any file appears
            for item in files:
                publish(item.temporary, item.target)
                published.append(item.target)
    except BaseException:
        for target in published:
            target.unlink(missing_ok=True)
        raise
    # The head that now includes this export's entry goes outside the database too.
    append_anchor(db, f"export: {', '.join(item.target.name for item in files)}")


@contextlib.contextmanager
def snapshot(db: Database) -> Iterator[Session]:
    """A read session that sees one committed state throughout, so every section of a
    report agrees with every other: SQLite's read transaction already does; PostgreSQL
    needs REPEATABLE READ (its default shows each statement the latest commits)."""
    with db.reading() as session:
        if not db.is_sqlite:
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


def _printing(
    actor: User, session: Session, certificate: SiteCertificate | None = None
) -> Printing:
    """Who prints, when, the chain head the snapshot in ``session`` stands on, and the
    site certificate the file will be signed with."""
    anchor = chain_head(session)
    return Printing(
        f"{actor.full_name}, {actor.role.label}",
        utc_now(),
        str(anchor) if anchor is not None else "none yet",
        None
        if certificate is None
        else SiteSignature(certificate.signer_name, certificate.fingerprint_text),
    )


def _signed_text(signed: Signed | None) -> str:
    """How the audit trail records a file's signature."""
    if signed is None:
        return "not signed (no site certificate)"
    return f"signed, certificate SHA-256 {signed.fingerprint}"


def record_counts(record: StudyRecord) -> dict[str, int]:
    """How many of each kind of record the document holds, for its manifest."""
    return {
        "accountability_lines": sum(len(darf.lines) for darf in record.accountability),
        "shipments": len(record.shipments),
        "inventory_rows": len(record.inventory),
        "dispenses": len(record.dispensing),
        "returns": len(record.returns),
        "holds": len(record.holds),
        "disposals": len(record.disposals),
        "counts": len(record.counts),
        "corrections": len(record.corrections),
        "signatures": len(record.signatures),
        "audit_entries": len(record.audit),
    }


def _edition_text(edition: Edition) -> str:
    return f"{edition.value} edition"


@dataclass(frozen=True)
class BinderResult:
    path: Path
    pages: int
    data_hash: str
    edition: Edition
    audit_data_path: Path
    signed: Signed | None = None


def export_audit_binder(
    db: Database,
    actor: User,
    protocol_number: str,
    out: Path | str,
    *,
    period: Period = WHOLE_RECORD,
    unblinded: bool = False,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
    signing_folder: Path | None = None,
) -> BinderResult:
    """The audit binder PDF of a study for a period, in the edition the actor may see, and
    its audit-trail extract as data beside it (both or neither).

    The binder is archival (PDF/A-3b) and carries its data: the sponsor workbook, the
    CDISC DA file and the audit-trail extract, with a manifest of their SHA-256. It is
    signed with this workstation's site certificate (``signing_folder``: where it is kept,
    by default the data folder's); without one it is still exported, its cover saying it
    is not signed: an inspection must never wait for a certificate to be set up.
    """
    target = check_target(out, ".pdf")
    data_target = check_target(audit_data_target(target), ".csv")
    certificate = site_certificate(signing_folder)
    steps = Steps(GATHER_STEPS + LAYOUT_STEPS + 3, progress, cancelled)
    steps.check()
    with snapshot(db) as session:
        record = gather_study_record(
            session, actor, protocol_number, period=period, unblinded=unblinded, steps=steps
        )
        study_id = get_study(session, protocol_number).id
        printing = _printing(actor, session, certificate)
    edition = _edition_text(record.edition)
    with (
        staged(target) as temporary,
        staged(data_target) as data_temporary,
        tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}.") as scratch,
    ):
        audit_data = write_audit_data(record.audit, data_target.name, data_temporary)
        attachments = binder_attachments(record, printing, target, Path(scratch))
        attachments.append(
            Attachment(
                data_target.name,
                data_temporary,
                CSV,
                "The audit-trail extract as data, every entry the binder's edition may show",
            )
        )
        steps.step()
        manifest = Manifest(
            "audit binder",
            record.study.protocol_number,
            record.period_text,
            record.edition.label,
            printing,
            record_counts(record),
        )
        unsigned = Path(scratch) / "unsigned.pdf"
        pages = write_binder(
            record,
            printing,
            unsigned,
            audit_data,
            archive=(manifest, attachments),
            done=lambda laid, pieces: steps.reach(GATHER_STEPS + 1 + laid * LAYOUT_STEPS // pieces),
        )
        signed = sign_or_keep(
            unsigned,
            temporary,
            certificate,
            reason=f"Audit binder of {record.study.protocol_number}, {record.period_text}",
            made_by=printing.generated_by,
        )
        detail = (
            f"audit binder, {edition}, {record.period_text}, "
            f"{pages} pages, data SHA-256 {record.data_hash}, {_signed_text(signed)}"
        )
        data_detail = (
            f"audit-trail extract as data, {edition}, {record.period_text}, "
            f"{audit_data.entries} entries, SHA-256 {audit_data.sha256}"
        )
        steps.step()
        _publish(
            db,
            actor,
            study_id,
            [Staged(temporary, target, detail), Staged(data_temporary, data_target, data_detail)],
        )
    steps.finish()
    return BinderResult(target, pages, record.data_hash, record.edition, data_target, signed)


def binder_attachments(
    record: StudyRecord,
    printing: Printing,
    target: Path,
    scratch: Path,
) -> list[Attachment]:
    """The sponsor workbook and the CDISC DA file of the binder's record, written in
    ``scratch`` to travel inside the binder (the same edition as the binder)."""
    # openpyxl is imported only when a workbook is written (see export_sponsor_workbook).
    from ids_app.reports.workbook import write_workbook

    mark = f"-{Edition.UNBLINDED.value}" if record.unblinded else ""
    workbook = scratch / f"{target.stem}-sponsor-workbook{mark}.xlsx"
    write_workbook(record, printing, workbook)
    da_file = scratch / f"{target.stem}-cdisc-da.csv"
    rows = write_da_csv(record, da_file)
    return [
        Attachment(
            workbook.name, workbook, XLSX, f"The sponsor workbook, {_edition_text(record.edition)}"
        ),
        Attachment(da_file.name, da_file, CSV, f"The CDISC DA domain, {rows} rows"),
    ]


@dataclass(frozen=True)
class WorkbookResult:
    path: Path
    cdisc_path: Path | None
    cdisc_rows: int
    data_hash: str
    edition: Edition


def export_sponsor_workbook(
    db: Database,
    actor: User,
    protocol_number: str,
    out: Path | str,
    *,
    period: Period = WHOLE_RECORD,
    unblinded: bool = False,
    cdisc_out: Path | str | None = None,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
) -> WorkbookResult:
    """The sponsor workbook (and, if asked, the CDISC DA file) of a study for a period.

    Blinded by default; an unblinded workbook is only for unblinded staff, and its file
    name says so ("…-unblinded.xlsx") as well as its Summary sheet.
    """
    # openpyxl is imported only when a workbook is written: it costs a tenth of a second
    # at every start of the main window otherwise.
    from ids_app.reports.workbook import write_workbook

    target = check_target(out, ".xlsx")
    cdisc_target = check_target(cdisc_out, ".csv") if cdisc_out is not None else None
    steps = Steps(GATHER_STEPS + 3, progress, cancelled)
    steps.check()
    with snapshot(db) as session:
        record = gather_study_record(
            session, actor, protocol_number, period=period, unblinded=unblinded, steps=steps
        )
        study_id = get_study(session, protocol_number).id
        printing = _printing(actor, session)
    if record.unblinded:
        target = marked(target, Edition.UNBLINDED.value)
    edition = _edition_text(record.edition)
    with contextlib.ExitStack() as files_on_disk:
        temporary = files_on_disk.enter_context(staged(target))
        write_workbook(record, printing, temporary)
        steps.step()
        detail = (
            f"sponsor workbook, {edition}, {record.period_text}, data SHA-256 {record.data_hash}"
        )
        files = [Staged(temporary, target, detail)]
        rows = 0
        if cdisc_target is not None:
            csv_temporary = files_on_disk.enter_context(staged(cdisc_target))
            rows = write_da_csv(record, csv_temporary)
            files.append(
                Staged(
                    csv_temporary,
                    cdisc_target,
                    f"CDISC DA file, {edition}, {record.period_text}, {rows} rows",
                )
            )
        steps.step()
        _publish(db, actor, study_id, files)
    steps.finish()
    return WorkbookResult(target, cdisc_target, rows, record.data_hash, record.edition)


def export_destruction_certificate(
    db: Database,
    actor: User,
    protocol_number: str,
    disposal_number: str,
    out: Path | str,
    *,
    signing_folder: Path | None = None,
) -> Path:
    """The certificate of a destruction or return to the sponsor: archival, and signed by
    the site when this workstation has its certificate (as the binder)."""
    target = check_target(out, ".pdf")
    site = site_certificate(signing_folder)
    with snapshot(db) as session:
        study, certificate = gather_certificate(session, actor, protocol_number, disposal_number)
        study_id = study.id
        printing = _printing(actor, session, site)
    with staged(target) as temporary:
        write_certificate(certificate, printing, temporary)
        title = certificate_title(certificate)
        signed = finish_report(
            temporary,
            Manifest(
                title.lower(),
                study.protocol_number,
                f"disposal {certificate.disposal_number}",
                "certificate",
                printing,
                {"lines": len(certificate.lines)},
            ),
            site,
            reason=f"{title}, disposal {certificate.disposal_number}",
        )
        detail = (
            f"destruction certificate, disposal {certificate.disposal_number}, "
            f"{_signed_text(signed)}"
        )
        _publish(db, actor, study_id, [Staged(temporary, target, detail)])
    return target


def _finish_visit_report(
    path: Path, record: StudyRecord, printing: Printing, site: SiteCertificate | None
) -> Signed | None:
    """The monitor-visit report's output stage: its manifest, then the site's signature."""
    manifest = Manifest(
        "monitor-visit report",
        record.study.protocol_number,
        record.period_text,
        record.edition.label,
        printing,
        record_counts(record),
    )
    return finish_report(path, manifest, site, reason=f"Monitor-visit report, {record.period_text}")


def export_dispensing_label(
    db: Database, actor: User, order_id: int, out: Path | str, settings: LabelSettings
) -> Path:
    """The label of a verified dispense, sized for the label printer."""
    target = check_target(out, ".pdf")
    with snapshot(db) as session:
        study, label = gather_label(session, actor, order_id, settings)
        study_id = study.id
        printing = _printing(actor, session)
    with staged(target) as temporary:
        write_label(label, settings, printing, temporary)
        detail = (
            f"dispensing label, order {order_id}, "
            f"{'kit ' + label.kit_number if label.kit_number else label.dispense_number}, "
            f"{settings.width_in:g} x {settings.height_in:g} in"
        )
        _publish(db, actor, study_id, [Staged(temporary, target, detail)])
    return target


def export_monitor_visit_report(
    db: Database,
    actor: User,
    protocol_number: str,
    out: Path | str,
    *,
    period: Period = WHOLE_RECORD,
    progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
    visit_id: int | None = None,
    signing_folder: Path | None = None,
) -> Path:
    """The monitor-visit report of a period, or of a recorded visit (blinded edition, or
    open-label): archival, and signed by the site when this workstation has its
    certificate."""
    target = check_target(out, ".pdf")
    site = site_certificate(signing_folder)
    steps = Steps(GATHER_STEPS + 2, progress, cancelled)
    with snapshot(db) as session:
        visit = gather_monitor_visit(
            session, actor, protocol_number, period=period, steps=steps, visit_id=visit_id
        )
        study_id = get_study(session, protocol_number).id
        printing = _printing(actor, session, site)
    with staged(target) as temporary:
        write_monitor_visit(visit, printing, temporary)
        _finish_visit_report(temporary, visit.record, printing, site)
        steps.step()
        detail = (
            f"monitor-visit report, {_edition_text(visit.record.edition)}, "
            f"{visit.record.period_text}"
        )
        _publish(db, actor, study_id, [Staged(temporary, target, detail)])
    steps.finish()
    return target


__all__ = [
    "BinderResult",
    "WorkbookResult",
    "export_audit_binder",
    "export_destruction_certificate",
    "export_dispensing_label",
    "export_monitor_visit_report",
    "export_sponsor_workbook",
    "record_export",
]
