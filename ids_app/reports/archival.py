"""The archival file: PDF/A-3b with its data attached, then signed by the site.

Every report is laid out as PDF/A-3b (rendering.py: fonts embedded, an sRGB output intent,
XMP metadata saying part 3, conformance B), the ISO format meant to be read unchanged for
as long as a record must be kept. PDF/A-3 may carry other files as "associated files"
(the catalog's /AF, each with its relationship to the document): the binder carries the
data it prints (the sponsor workbook, the CDISC DA file, the audit-trail extract) and a
manifest naming the study, period, edition, the audit chain's anchor and each
attachment's SHA-256, so the one file is the whole hand-over and can be checked alone
(ids_app.signing.checks).

Signing comes last, at the output stage: a function applied to the finished file, so a
report's content code never deals with it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ids_app import __version__
from ids_app.reports.records import Printing
from ids_app.signing.checks import MANIFEST_NAME
from ids_app.signing.pdf import SIGNATURE_BOX_ID, Signed, sign_pdf, signature_box
from ids_app.signing.site import SiteCertificate

if TYPE_CHECKING:
    import pikepdf

MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class Attachment:
    """A file carried inside the PDF; ``relationship``: PDF/A-3's AFRelationship (Data:
    the data the document presents; Supplement: about the document itself)."""

    name: str
    path: Path
    mime_type: str
    description: str
    relationship: str = "Data"

    def sha256(self) -> str:
        with self.path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"


@dataclass(frozen=True)
class Manifest:
    """What the document is, for the manifest and for ``ids-app verify-binder``."""

    document: str
    study: str
    period: str
    edition: str
    printing: Printing
    counts: dict[str, int]

    def as_json(self, attachments: Sequence[Attachment]) -> bytes:
        content: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "made_by": f"IDS Accountability {__version__}",
            "document": self.document,
            "study": self.study,
            "period": self.period,
            "edition": self.edition,
            "generated_by": self.printing.generated_by,
            "generated_at": self.printing.generated_at.isoformat(timespec="seconds"),
            "audit_chain_anchor": self.printing.anchor,
            "record_counts": self.counts,
            "attachments": [
                {
                    "name": item.name,
                    "sha256": item.sha256(),
                    "bytes": item.path.stat().st_size,
                    "mime_type": item.mime_type,
                    "relationship": item.relationship,
                }
                for item in attachments
            ],
        }
        return json.dumps(content, indent=2, ensure_ascii=False).encode("utf-8")


def _pdf_date(printing: Printing) -> str:
    moment = printing.generated_at
    if moment.utcoffset() is None:
        return ""
    return f"D:{moment.astimezone(dt.UTC):%Y%m%d%H%M%S}Z"


def attach(pdf: pikepdf.Pdf, manifest: Manifest, attachments: Sequence[Attachment]) -> None:
    """Embed the attachments and the manifest as PDF/A-3 associated files of ``pdf``."""
    import pikepdf

    when = _pdf_date(manifest.printing)
    files = [
        (item.name, item.path.read_bytes(), item.mime_type, item.description, item.relationship)
        for item in attachments
    ]
    files.append(
        (
            MANIFEST_NAME,
            manifest.as_json(attachments),
            "application/json",
            "What this file holds: study, period, edition, audit chain anchor, and the "
            "SHA-256 of each attached file",
            "Supplement",
        )
    )
    associated = pikepdf.Array()
    for name, data, mime, description, relationship in files:
        spec = pikepdf.AttachedFileSpec(
            pdf,
            data,
            description=description,
            filename=name,
            mime_type=mime,
            creation_date=when,
            mod_date=when,
            relationship=pikepdf.Name(f"/{relationship}"),
        )
        pdf.attachments[name] = spec
        associated.append(spec.obj)
    pdf.Root.AF = associated


def keep_archival_identity(joined: pikepdf.Pdf, first: pikepdf.Pdf) -> None:
    """What makes the joined file PDF/A, taken from its first piece (every piece is laid
    out as PDF/A-3b): pikepdf's join copies pages only, and leaves behind the XMP
    metadata (pdfaid part and conformance), the output intent, and the information the
    metadata must agree with."""
    for key in ("/Metadata", "/OutputIntents"):
        if key in first.Root:
            joined.Root[key] = _copied(joined, first.Root[key])
    for key in ("/Title", "/Author", "/Subject", "/Keywords", "/Creator", "/Producer"):
        if key in first.docinfo:
            joined.docinfo[key] = first.docinfo[key]
    _keep_signature_box(joined, first)


def _copied(joined: pikepdf.Pdf, value: Any) -> Any:
    """``value`` of another PDF, copied into ``joined`` (pikepdf copies indirect objects
    only; the output intents are a direct array of direct dictionaries)."""
    import pikepdf

    if isinstance(value, pikepdf.Object) and value.is_indirect:
        return joined.copy_foreign(value)
    if isinstance(value, pikepdf.Array):
        return pikepdf.Array([_copied(joined, item) for item in value])
    if isinstance(value, pikepdf.Dictionary):
        return pikepdf.Dictionary({key: _copied(joined, item) for key, item in value.items()})
    return value


def _keep_signature_box(joined: pikepdf.Pdf, first: pikepdf.Pdf) -> None:
    """The place the cover keeps for the signature (a named destination on its page)."""
    import pikepdf

    names = first.Root.get("/Names")
    if names is None or "/Dests" not in names:
        return
    found = pikepdf.NameTree(names.Dests).get(SIGNATURE_BOX_ID)
    if found is None or found[0].objgen != first.pages[0].obj.objgen:
        return
    tree = pikepdf.NameTree.new(joined)
    tree[SIGNATURE_BOX_ID] = pikepdf.Array(
        [joined.pages[0].obj, pikepdf.Name.XYZ, found[2], found[3], 0]
    )
    joined.Root.Names = pikepdf.Dictionary(Dests=tree.obj)


def add_attachments(path: Path, manifest: Manifest, attachments: Sequence[Attachment] = ()) -> None:
    """Attach to a one-piece document (a certificate, a report) in place."""
    import pikepdf

    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        attach(pdf, manifest, attachments)
        pdf.save(path)


def finish_report(
    path: Path,
    manifest: Manifest,
    certificate: SiteCertificate | None,
    *,
    reason: str,
) -> Signed | None:
    """Finish a one-piece report in place: its manifest attached, then signed by the site
    (when this workstation has its certificate). Applied to the finished file, so the
    report's own content code stays as it is."""
    add_attachments(path, manifest)
    unsigned = path.with_name(f"{path.name}.unsigned")
    os.replace(path, unsigned)
    try:
        return sign_or_keep(
            unsigned, path, certificate, reason=reason, made_by=manifest.printing.generated_by
        )
    finally:
        unsigned.unlink(missing_ok=True)


def sign_or_keep(
    unsigned: Path,
    target: Path,
    certificate: SiteCertificate | None,
    *,
    reason: str,
    made_by: str,
) -> Signed | None:
    """The finished file at ``target``: signed by the site when this workstation has its
    certificate, else as it is (unsigned, as its cover or first page says)."""
    if certificate is None:
        os.replace(unsigned, target)
        return None
    return sign_pdf(
        unsigned,
        target,
        certificate,
        box=signature_box(unsigned),
        reason=reason,
        made_by=made_by,
    )
