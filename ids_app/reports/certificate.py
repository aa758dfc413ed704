"""Certificates of destruction and of return to the sponsor (PDF).

The content comes from :func:`ids_app.inventory.disposal.destruction_certificate`, which
shows the witness's signature only while it still holds for the record (21 CFR 11.70).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.errors import NotFound
from ids_app.inventory.disposal import DestructionCertificate, destruction_certificate
from ids_app.inventory.models import Disposal, DisposalKind
from ids_app.reports.common import site_name
from ids_app.reports.gather import report_study
from ids_app.reports.records import Printing
from ids_app.reports.rendering import render_html, write_pdf
from ids_app.studies.blinding import reader_mask
from ids_app.studies.models import Study
from ids_app.users.models import User


def find_disposal(session: Session, study: Study, disposal_number: str) -> Disposal:
    disposal = session.scalar(
        select(Disposal).where(
            Disposal.study_id == study.id, Disposal.disposal_number == disposal_number.strip()
        )
    )
    if disposal is None:
        raise NotFound(
            f"There is no disposal {disposal_number.strip()} in study {study.protocol_number}."
        )
    return disposal


def gather_certificate(
    session: Session, actor: User, protocol_number: str, disposal_number: str
) -> tuple[Study, DestructionCertificate]:
    study = report_study(session, actor, protocol_number, to="print destruction certificates")
    disposal = find_disposal(session, study, disposal_number)
    certificate = destruction_certificate(session, disposal)
    mask = reader_mask(session, actor, study.id)
    return study, replace(
        certificate,
        method=mask.required_text(certificate.method),
        sponsor_authorization=mask.required_text(certificate.sponsor_authorization),
    )


def certificate_title(certificate: DestructionCertificate) -> str:
    if certificate.kind is DisposalKind.RETURNED_TO_SPONSOR:
        return "Certificate of return to sponsor"
    return "Certificate of destruction"


def write_certificate(certificate: DestructionCertificate, printing: Printing, target: Path) -> int:
    html = render_html(
        "certificate.html",
        c=certificate,
        title=certificate_title(certificate),
        site=site_name(),
        printing=printing,
        total=sum(line.quantity for line in certificate.lines),
    )
    return write_pdf(html, target)
