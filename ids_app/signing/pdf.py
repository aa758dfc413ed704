"""Signing a finished PDF with the site's key (pyHanko): PAdES baseline, whole file.

The signature is a certification signature that allows no change after it (DocMDP level
1): an ordinary PDF reader then reports any edit, even one a reader would otherwise let
pass as "filling in a form". It is added as an incremental update, so the archival
document (PDF/A-3b) is untouched below it, and shows in a box the document reserves for
it (an element with ``id="signature-box"``, found through WeasyPrint's named destination
of that id), naming the signer and the time. A document without such a box is signed
invisibly: readers still list the signature in their signature panel.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ids_app.signing.site import SiteCertificate, SiteCertificateProblem

if TYPE_CHECKING:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

SIGNATURE_FIELD = "Site signature"
SIGNATURE_BOX_ID = "signature-box"
# The box's size, as the templates lay it out (mm), and the font its words are set in: a
# font embedded in the file, as PDF/A asks (the reports' own font, fonts-dejavu-core).
SIGNATURE_BOX_MM = (110.0, 24.0)
FONT_FILES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("C:/Windows/Fonts/arial.ttf"),
)
POINTS_PER_MM = 72 / 25.4


@dataclass(frozen=True)
class Box:
    """A rectangle on the first page, in PDF points from its lower-left corner."""

    left: float
    bottom: float
    right: float
    top: float

    def rounded(self) -> tuple[int, int, int, int]:
        return (round(self.left), round(self.bottom), round(self.right), round(self.top))


def signature_box(pdf_path: Path) -> Box | None:
    """Where the document reserved the signature's box on its first page, if it did."""
    import pikepdf

    width, height = (mm * POINTS_PER_MM for mm in SIGNATURE_BOX_MM)
    with pikepdf.open(pdf_path) as pdf:
        names = pdf.Root.get("/Names")
        dests = None if names is None else names.get("/Dests")
        if dests is None:
            return None
        found = pikepdf.NameTree(dests).get(SIGNATURE_BOX_ID)
        if found is None or found[0].objgen != pdf.pages[0].obj.objgen:
            return None
        left, top = float(found[2]), float(found[3])
    return Box(left, top - height, left + width, top)


@dataclass(frozen=True)
class Signed:
    """What the signature says: who signed, for whom, and when (the signer's clock)."""

    signer_name: str
    fingerprint: str
    at: dt.datetime


@functools.cache
def _font_file() -> Path | None:
    """The stamp's font, rescaled to 1,000 units per em: pyHanko writes a TrueType font's
    glyph widths in the font's own units, which PDF reads as thousandths of an em, so a
    2,048-unit font (DejaVu) would be set twice as wide as it is drawn."""
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    found = next((path for path in FONT_FILES if path.exists()), None)
    if found is None:
        return None
    name = f"ids-accountability-{getpass.getuser()}-{found.stem}.ttf"
    scaled = Path(tempfile.gettempdir()) / name
    if not scaled.exists():
        font = TTFont(found)
        if font["head"].unitsPerEm != 1000:
            scale_upem(font, 1000)
        with tempfile.NamedTemporaryFile(dir=scaled.parent, delete=False) as handle:
            font.save(handle)
        os.replace(handle.name, scaled)
    return scaled


def _leave_producer_to_pyhanko(writer: IncrementalPdfFileWriter) -> None:
    """PDF/A asks the document information and the XMP metadata to agree. pyHanko writes
    itself as the XMP producer, and adds itself to the information's producer: without
    one there, both then say the same."""
    try:
        info = writer.trailer.raw_get("/Info")
    except KeyError:
        return
    if "/Producer" in info.get_object():
        del info.get_object()["/Producer"]
        writer.mark_update(info)


def sign_pdf(
    source: Path,
    target: Path,
    certificate: SiteCertificate,
    *,
    box: Box | None,
    reason: str,
    made_by: str,
) -> Signed:
    """Write ``source``, signed by the site, to ``target``; ``made_by``: who exported it."""
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import TextStampStyle

    chain = (str(certificate.chain_path),) if certificate.chain_path.exists() else ()
    signer = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
        str(certificate.key_path), str(certificate.certificate_path), ca_chain_files=chain
    )
    if signer is None:
        raise SiteCertificateProblem(
            f"The site's signing key in {certificate.folder} cannot be read; import or create "
            "the site certificate again with ids-app site-certificate."
        )
    now = dt.datetime.now(dt.UTC)
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        name=certificate.signer_name,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    font = _font_file()
    # fontTools says, for every signature, that it drops a table the stamp does not use.
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    style = TextStampStyle(
        stamp_text=(
            "Digitally signed by %(signer)s\nExported by %(made_by)s\nSigned at %(ts)s\n"
            "Any change to this file breaks this signature."
        ),
        text_box_style=TextBoxStyle(
            font=GlyphAccumulatorFactory(str(font), font_size=7) if font else TextBoxStyle().font,
            font_size=7,
        ),
        background=None,
        border_width=1,
        timestamp_format="%Y-%m-%d %H:%M:%S %Z",
    )
    spec = fields.SigFieldSpec(
        SIGNATURE_FIELD,
        on_page=0,
        box=None if box is None else box.rounded(),
    )
    pdf_signer = signers.PdfSigner(metadata, signer=signer, stamp_style=style, new_field_spec=spec)
    with source.open("rb") as unsigned, target.open("wb") as signed:
        writer = IncrementalPdfFileWriter(unsigned, strict=False)
        _leave_producer_to_pyhanko(writer)
        pdf_signer.sign_pdf(
            writer,
            output=signed,
            appearance_text_params={"made_by": made_by},
        )
    return Signed(certificate.signer_name, certificate.fingerprint, now)
