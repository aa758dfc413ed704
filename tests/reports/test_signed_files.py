"""The binder, the destruction certificate and the monitor-visit report as archival,
signed files that a monitor checks with the file alone (`ids-app verify-binder`).

Read back with the tools a monitor or inspector would use: poppler's pdfinfo and
pdfdetach, qpdf, pikepdf, and pyHanko's own signature validation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import stat
import subprocess
from pathlib import Path

import pikepdf
import pytest
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    load_pem_private_key,
    pkcs12,
)
from cryptography.x509 import load_pem_x509_certificate
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from ids_app.cli import main
from ids_app.reports.exports import (
    BinderResult,
    export_audit_binder,
    export_destruction_certificate,
    export_monitor_visit_report,
)
from ids_app.reports.period import Period
from ids_app.signing.site import (
    SIGNING_DIR_ENV,
    SiteCertificate,
    create_site_certificate,
    site_certificate,
)
from tests.reports.conftest import INJECTABLE, ORAL, Demo, pdf_pages

ATTACHED = ("sponsor-workbook.xlsx", "cdisc-da.csv", "audit-trail.csv", "manifest.json")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> SiteCertificate:
    return create_site_certificate(
        "Test Hospital IDS", folder=tmp_path_factory.mktemp("site") / "signing"
    )


def _last_weeks() -> Period:
    """The last three weeks of the demo: a short binder, laid out in seconds."""
    return Period(dt.date.today() - dt.timedelta(days=21))


@pytest.fixture(scope="module")
def signed(demo: Demo, site: SiteCertificate) -> BinderResult:
    return export_audit_binder(
        demo.db,
        demo.user("tech"),
        ORAL,
        demo.folder / "ABC-123 signed.pdf",
        period=_last_weeks(),
        signing_folder=site.folder,
    )


def _verify(path: Path, *extra: str) -> int:
    return main(["verify-binder", str(path), *extra])


def _copy(path: Path, folder: Path) -> Path:
    copy = folder / path.name
    shutil.copyfile(path, copy)
    return copy


def test_the_site_key_is_readable_by_this_account_only(site: SiteCertificate) -> None:
    assert stat.S_IMODE(site.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(site.folder.stat().st_mode) == 0o700
    certificate = load_pem_x509_certificate(site.certificate_path.read_bytes())
    der = certificate.public_bytes(Encoding.DER)
    assert hashlib.sha256(der).hexdigest() == site.fingerprint


def test_the_binder_is_pdf_a_3b_and_carries_its_data(signed: BinderResult) -> None:
    metadata = subprocess.run(
        ["pdfinfo", "-meta", str(signed.path)], capture_output=True, text=True, check=True
    ).stdout
    assert 'pdfaid:part="3"' in metadata
    assert 'pdfaid:conformance="B"' in metadata
    listed = subprocess.run(
        ["pdfdetach", "-list", str(signed.path)], capture_output=True, text=True, check=True
    ).stdout
    assert "4 embedded files" in listed
    for name in ATTACHED:
        assert name in listed, name
    with pikepdf.open(signed.path) as pdf:
        assert "/OutputIntents" in pdf.Root
        # PDF/A: the document information and the XMP metadata say the same.
        xmp = pdf.open_metadata()
        assert xmp["pdf:Producer"] == str(pdf.docinfo.Producer)
        assert xmp["dc:title"] == str(pdf.docinfo.Title)
        assert xmp["dc:description"] == str(pdf.docinfo.Subject)
        associated = {str(spec.F): str(spec.AFRelationship) for spec in pdf.Root.AF}
        files = {name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()}
    assert associated["manifest.json"] == "/Supplement"
    assert {
        relationship for name, relationship in associated.items() if name != "manifest.json"
    } == {"/Data"}
    manifest = json.loads(files.pop("manifest.json"))
    assert manifest["study"] == ORAL
    assert manifest["edition"] == "Blinded edition"
    assert manifest["audit_chain_anchor"] in " ".join(pdf_pages(signed.path)[:1])
    assert manifest["record_counts"]["audit_entries"] > 0
    assert {item["name"]: item["sha256"] for item in manifest["attachments"]} == {
        name: hashlib.sha256(data).hexdigest() for name, data in files.items()
    }
    # The data file beside the binder is the one inside it.
    inside = files[signed.audit_data_path.name]
    assert inside == signed.audit_data_path.read_bytes()


def test_qpdf_finds_nothing_wrong_with_the_signed_binder(signed: BinderResult) -> None:
    checked = subprocess.run(["qpdf", "--check", str(signed.path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No syntax or stream encoding errors found" in checked.stdout


def test_pyhanko_validates_the_site_signature_over_the_whole_file(
    signed: BinderResult, site: SiteCertificate
) -> None:
    with signed.path.open("rb") as handle:
        (signature,) = PdfFileReader(handle).embedded_signatures
        status = validate_pdf_signature(
            signature, ValidationContext(trust_roots=[signature.signer_cert])
        )
    assert status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.docmdp_ok
    assert hashlib.sha256(signature.signer_cert.dump()).hexdigest() == site.fingerprint


def test_the_cover_names_the_site_certificate_and_shows_the_signature(
    signed: BinderResult, site: SiteCertificate
) -> None:
    cover = pdf_pages(signed.path)[0]
    assert "Signed by the site with Test Hospital IDS (IDS Accountability)" in cover
    assert site.fingerprint_text in cover
    assert signed.signed is not None
    with pikepdf.open(signed.path) as pdf:
        (field,) = pdf.Root.AcroForm.Fields
        assert field.FT == "/Sig"
        left, bottom, right, top = (float(v) for v in field.Rect)
        # A visible box, on the cover.
        assert right - left > 200
        assert top - bottom > 50
        assert field.P.objgen == pdf.pages[0].obj.objgen


def test_a_monitor_verifies_the_binder_with_the_file_and_the_fingerprint(
    signed: BinderResult, site: SiteCertificate, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _verify(signed.path, "--fingerprint", site.fingerprint_text) == 0
    out = capsys.readouterr().out
    assert "signature valid, covers the whole file" in out
    for fact in ("Study:        ABC-123", "Edition:      Blinded edition", "Chain anchor:"):
        assert fact in out, fact
    for name in ATTACHED[:3]:
        assert name in out, name


def test_one_flipped_byte_makes_verify_binder_fail(
    signed: BinderResult, site: SiteCertificate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = _copy(signed.path, tmp_path)
    data = bytearray(copy.read_bytes())
    data[len(data) // 3] ^= 0x01
    copy.write_bytes(bytes(data))
    assert _verify(copy, "--fingerprint", site.fingerprint) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("NOT VERIFIED:")
    assert len(error.splitlines()) == 1


def test_a_swapped_attachment_makes_verify_binder_fail(
    signed: BinderResult, site: SiteCertificate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "swapped.pdf"
    with pikepdf.open(signed.path) as pdf:
        name = next(n for n in pdf.attachments if n.endswith("cdisc-da.csv"))
        pdf.attachments[name] = pikepdf.AttachedFileSpec(
            pdf, b'"STUDYID"\n"ABC-123"\n', filename=name, mime_type="text/csv"
        )
        pdf.save(copy)
    assert _verify(copy, "--fingerprint", site.fingerprint) == 1
    assert "changed after it was signed" in capsys.readouterr().err


def test_a_wrong_fingerprint_makes_verify_binder_fail(
    signed: BinderResult, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _verify(signed.path, "--fingerprint", "ab" * 32) == 1
    error = capsys.readouterr().err
    assert "not the site's AB" in error


def test_without_a_site_certificate_the_binder_is_exported_and_says_it_is_unsigned(
    demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = export_audit_binder(
        demo.db,
        demo.user("tech"),
        ORAL,
        tmp_path / "unsigned.pdf",
        period=Period(dt.date.today()),
        signing_folder=tmp_path / "no-certificate-here",
    )
    assert result.signed is None
    cover = pdf_pages(result.path)[0]
    assert "None: this file is not signed." in cover
    assert "Not signed." in cover
    assert _verify(result.path) == 1
    assert "is not signed" in capsys.readouterr().err


def test_destruction_certificate_and_visit_report_are_signed_archival_files(
    demo: Demo, site: SiteCertificate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    certificate = export_destruction_certificate(
        demo.db,
        demo.user("pharm"),
        INJECTABLE,
        "DEST-XYZ-0001",
        tmp_path / "certificate.pdf",
        signing_folder=site.folder,
    )
    visit = export_monitor_visit_report(
        demo.db,
        demo.user("monitor"),
        ORAL,
        tmp_path / "visit.pdf",
        period=_last_weeks(),
        signing_folder=site.folder,
    )
    for path, document in ((certificate, "certificate of destruction"), (visit, "monitor-visit")):
        assert _verify(path, "--fingerprint", site.fingerprint) == 0, capsys.readouterr().err
        assert document in capsys.readouterr().out
        metadata = subprocess.run(
            ["pdfinfo", "-meta", str(path)], capture_output=True, text=True, check=True
        ).stdout
        assert 'pdfaid:part="3"' in metadata
        assert subprocess.run(["qpdf", "--check", str(path)], capture_output=True).returncode == 0
    assert site.fingerprint_text in pdf_pages(certificate)[0]


def test_a_site_imports_its_certificate_from_the_hospital_ca(
    site: SiteCertificate,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = load_pem_private_key(site.key_path.read_bytes(), password=None)
    certificate = load_pem_x509_certificate(site.certificate_path.read_bytes())
    p12 = tmp_path / "hospital.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"ids", key, certificate, None, BestAvailableEncryption(b"p12-secret")
        )  # type: ignore[arg-type]
    )
    monkeypatch.setenv(SIGNING_DIR_ENV, str(tmp_path / "workstation"))
    monkeypatch.setenv("IDS_P12_PASSWORD", "wrong")
    assert main(["site-certificate", "import", str(p12)]) == 2
    assert "the password is wrong" in capsys.readouterr().err
    monkeypatch.setenv("IDS_P12_PASSWORD", "p12-secret")
    assert main(["site-certificate", "import", str(p12)]) == 0
    imported = site_certificate(tmp_path / "workstation")
    assert imported is not None
    assert imported.fingerprint == site.fingerprint
    assert stat.S_IMODE(imported.key_path.stat().st_mode) == 0o600
    assert main(["site-certificate", "create", "--site", "Another IDS"]) == 2
    assert "already has a site certificate" in capsys.readouterr().err
    assert main(["site-certificate", "show"]) == 0
    assert site.fingerprint_text in capsys.readouterr().out


def test_an_attachment_swapped_in_an_update_after_signing_makes_verify_binder_fail(
    signed: BinderResult, site: SiteCertificate, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The subtler forgery: the signed bytes kept whole, a new CDISC file added after them
    (an incremental update, as a PDF editor saves)."""
    from pyhanko.pdf_utils.embed import EmbeddedFileObject, FileSpec, embed_file
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    copy = tmp_path / "updated.pdf"
    with signed.path.open("rb") as original, copy.open("wb") as out:
        writer = IncrementalPdfFileWriter(original)
        name = "ABC-123 signed-cdisc-da.csv"
        data = EmbeddedFileObject.from_file_data(writer, b'"STUDYID"\n', mime_type="text/csv")
        embed_file(writer, FileSpec(name, file_name=name, embedded_data=data))
        writer.write(out)
    assert copy.read_bytes().startswith(signed.path.read_bytes())
    assert _verify(copy, "--fingerprint", site.fingerprint) == 1
    assert "added to updated.pdf after it was signed" in capsys.readouterr().err
