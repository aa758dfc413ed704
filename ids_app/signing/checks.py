"""Checking a signed file with the file alone: what a monitor runs on a binder they received.

Nothing here opens the site's database. The file must carry the site's signature over all
of it (nothing added after signing), made by the certificate whose fingerprint the monitor
was given; and every file attached to it must be the one its manifest names, byte for
byte. The first failure is the answer, in one sentence.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ids_app.errors import IdsError
from ids_app.signing.site import fingerprint_text

MANIFEST_NAME = "manifest.json"


class CheckFailed(IdsError):
    """The file is not what the site signed, or cannot be shown to be."""


@dataclass(frozen=True)
class SignedFileCheck:
    """A file that passed every check, and what its manifest says it holds."""

    path: Path
    signer_name: str
    fingerprint: str
    signed_at: dt.datetime | None
    manifest: dict[str, Any]
    attachments: tuple[str, ...] = field(default=())

    def lines(self) -> list[str]:
        """What ``ids-app verify-binder`` prints for a file that passed."""
        m = self.manifest
        when = "unknown" if self.signed_at is None else f"{self.signed_at:%Y-%m-%d %H:%M %Z}"
        out = [
            f"{self.path.name}: signature valid, covers the whole file, unchanged since signing.",
            f"  Document:     {m.get('document', '?')}",
            f"  Study:        {m.get('study', '?')}",
            f"  Period:       {m.get('period', '?')}",
            f"  Edition:      {m.get('edition', '?')}",
            f"  Chain anchor: {m.get('audit_chain_anchor', '?')}",
            f"  Signed by:    {self.signer_name}, {when}",
            f"  Certificate SHA-256: {fingerprint_text(self.fingerprint)}",
        ]
        out += [f"  Attachment matches the manifest: {name}" for name in self.attachments]
        return out


def _said(error: Exception) -> str:
    """A library's error on one line, so the answer stays one sentence."""
    return " ".join(str(error).split()).rstrip(".") or type(error).__name__


def _read_signature(path: Path, data: bytes) -> Any:
    from pyhanko.pdf_utils.reader import PdfFileReader

    if not data.startswith(b"%PDF-"):
        raise CheckFailed(f"{path.name} is not a PDF file.")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception as error:
        raise CheckFailed(
            f"{path.name} is damaged and cannot be read as a PDF ({_said(error)})."
        ) from None
    if not signatures:
        raise CheckFailed(
            f"{path.name} is not signed: nothing in it shows it is unchanged since the site "
            "exported it; ask the site for a signed copy."
        )
    if len(signatures) > 1:
        raise CheckFailed(
            f"{path.name} carries {len(signatures)} signatures where the site makes one: "
            "something was signed into it after it left the site."
        )
    return signatures[0]


def _check_signature(path: Path, signature: Any) -> None:
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    # Trust is the fingerprint the monitor compares; the certificate vouches for itself.
    context = ValidationContext(trust_roots=[signature.signer_cert], allow_fetching=False)
    try:
        status = validate_pdf_signature(signature, context)
    except Exception as error:
        raise CheckFailed(
            f"The signature of {path.name} cannot be checked; the file is damaged or was "
            f"changed ({_said(error)})."
        ) from None
    if not status.intact:
        raise CheckFailed(
            f"{path.name} was changed after it was signed: its contents no longer match "
            "the signature."
        )
    if not status.valid:
        raise CheckFailed(f"The signature of {path.name} is not valid: it does not verify.")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        raise CheckFailed(
            f"Something was added to {path.name} after it was signed: the signature no "
            "longer covers the whole file."
        )


def _check_attachments(path: Path, data: bytes) -> tuple[dict[str, Any], tuple[str, ...]]:
    import pikepdf

    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            files = {name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()}
    except Exception as error:
        raise CheckFailed(
            f"The attachments of {path.name} cannot be read ({_said(error)})."
        ) from None
    if MANIFEST_NAME not in files:
        raise CheckFailed(
            f"{path.name} has no {MANIFEST_NAME}: it was not exported as a signed archival "
            "file by IDS Accountability."
        )
    try:
        manifest = json.loads(files.pop(MANIFEST_NAME))
        listed = {item["name"]: item["sha256"] for item in manifest["attachments"]}
    except (ValueError, KeyError, TypeError):
        raise CheckFailed(f"The {MANIFEST_NAME} in {path.name} cannot be read.") from None
    for name, sha256 in listed.items():
        if name not in files:
            raise CheckFailed(f"{name}, named in the manifest, is missing from {path.name}.")
        if hashlib.sha256(files[name]).hexdigest() != sha256:
            raise CheckFailed(
                f"The attached {name} is not the file the manifest names: its SHA-256 differs."
            )
    extra = sorted(set(files) - set(listed))
    if extra:
        raise CheckFailed(f"{path.name} carries {extra[0]}, which its manifest does not name.")
    return manifest, tuple(listed)


def check_signed_file(path: Path, *, fingerprint: str | None = None) -> SignedFileCheck:
    """Check a signed PDF made by IDS Accountability; raises :class:`CheckFailed` with the
    first thing wrong. ``fingerprint``: the site certificate's SHA-256, as the site gave it
    (already parsed: lower-case hexadecimal)."""
    try:
        data = path.expanduser().read_bytes()
    except OSError as error:
        raise CheckFailed(f"Cannot read {path}: {error.strerror}.") from None
    signature = _read_signature(path, data)
    _check_signature(path, signature)
    certificate = signature.signer_cert
    found = hashlib.sha256(certificate.dump()).hexdigest()
    if fingerprint is not None and found != fingerprint:
        raise CheckFailed(
            f"{path.name} was signed with certificate {fingerprint_text(found)}, not the "
            f"site's {fingerprint_text(fingerprint)} you gave: it did not come from that site."
        )
    manifest, attachments = _check_attachments(path, data)
    return SignedFileCheck(
        path,
        certificate.subject.native.get("common_name", certificate.subject.human_friendly),
        found,
        signature.self_reported_timestamp,
        manifest,
        attachments,
    )
