"""The site's signing key and certificate: made here, or imported from the hospital's CA.

They are kept outside the database, in a folder of this workstation (``IDS_SIGNING_DIR``,
else ``signing`` in the data folder), owner-only: the key file 0600 in a 0700 folder, like
the database itself (private_files.py). A database copy then never carries the key, and
whoever may sign is whoever may use this workstation's account, which is also who may run
the app's exports.

A monitor trusts a signature by comparing the certificate's SHA-256 fingerprint, printed
on the binder's cover and shown in Settings, with the one the site gave them (a
self-signed certificate has no authority behind it but that comparison).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ids_app.config import data_dir
from ids_app.errors import IdsError, InvalidInput
from ids_app.private_files import FILE_MODE, private_file, private_folder

SIGNING_DIR_ENV = "IDS_SIGNING_DIR"
KEY_FILE = "site-signing-key.pem"
CERTIFICATE_FILE = "site-signing-certificate.pem"
# The certificates between an imported certificate and its CA's root, if the file had them.
CHAIN_FILE = "site-signing-chain.pem"
# A self-signed certificate outlives any study's record-keeping period it signs files in.
YEARS_VALID = 10
RSA_BITS = 3072
FINGERPRINT = re.compile(r"[0-9a-f]{64}")


class SiteCertificateProblem(IdsError):
    """The site's signing certificate cannot be made, read or used."""


def signing_folder() -> Path:
    """Where this workstation keeps the site's key and certificate."""
    chosen = os.environ.get(SIGNING_DIR_ENV)
    return Path(chosen).expanduser() if chosen else data_dir() / "signing"


def fingerprint_of(certificate: x509.Certificate) -> str:
    """The certificate's SHA-256 over its DER bytes, as every browser and ``openssl x509
    -fingerprint -sha256`` shows it (in lower-case hexadecimal, without colons)."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def fingerprint_text(fingerprint: str) -> str:
    """A fingerprint in groups of four, upper case, for a person to compare by eye."""
    upper = fingerprint.upper()
    return " ".join(upper[start : start + 4] for start in range(0, len(upper), 4))


def parse_fingerprint(text: str) -> str:
    """A fingerprint as typed: with or without spaces or colons, in either case."""
    cleaned = re.sub(r"[\s:]", "", text).lower()
    if FINGERPRINT.fullmatch(cleaned) is None:
        raise InvalidInput(
            f"'{text.strip()}' is not a SHA-256 fingerprint; give the 64 hexadecimal digits "
            "the site gave you (spaces and colons may stay)."
        )
    return cleaned


@dataclass(frozen=True)
class SiteCertificate:
    """The site's certificate as kept in ``folder``, with its key beside it."""

    folder: Path
    signer_name: str
    fingerprint: str
    valid_until: dt.datetime

    @property
    def key_path(self) -> Path:
        return self.folder / KEY_FILE

    @property
    def certificate_path(self) -> Path:
        return self.folder / CERTIFICATE_FILE

    @property
    def chain_path(self) -> Path:
        return self.folder / CHAIN_FILE

    @property
    def fingerprint_text(self) -> str:
        return fingerprint_text(self.fingerprint)


def _name_of(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()


def _described(folder: Path, certificate: x509.Certificate) -> SiteCertificate:
    return SiteCertificate(
        folder, _name_of(certificate), fingerprint_of(certificate), certificate.not_valid_after_utc
    )


def site_certificate(folder: Path | None = None) -> SiteCertificate | None:
    """The site's certificate on this workstation, or None when there is none yet."""
    folder = folder or signing_folder()
    certificate_path, key_path = folder / CERTIFICATE_FILE, folder / KEY_FILE
    if not certificate_path.exists() or not key_path.exists():
        return None
    try:
        certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
    except (OSError, ValueError) as error:
        raise SiteCertificateProblem(
            f"The site certificate {certificate_path} cannot be read ({error}); import or "
            "create it again with ids-app site-certificate."
        ) from None
    return _described(folder, certificate)


def _refuse_replacing(folder: Path, replace: bool) -> None:
    existing = site_certificate(folder)
    if existing is not None and not replace:
        raise SiteCertificateProblem(
            f"This workstation already has a site certificate ({existing.signer_name}, "
            f"SHA-256 {existing.fingerprint_text}); files signed with it stay checkable "
            "with that fingerprint. To make a new one anyway, add --replace."
        )


def _retire(folder: Path, now: dt.datetime) -> None:
    """Keep a replaced key and certificate beside the new ones, renamed, never deleted:
    the site may need to show which certificate signed an older binder."""
    stamp = f"{now:%Y%m%dT%H%M%SZ}"
    for name in (KEY_FILE, CERTIFICATE_FILE, CHAIN_FILE):
        path = folder / name
        if path.exists():
            path.rename(folder / f"replaced-{stamp}-{name}")


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a file no other account may read, from its first byte."""
    path.unlink(missing_ok=True)
    private_file(path)
    with path.open("wb") as handle:
        handle.write(data)
    if os.name == "posix":
        path.chmod(FILE_MODE)


def _keep(
    folder: Path,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    certificate: x509.Certificate,
    chain: list[x509.Certificate],
    now: dt.datetime,
) -> SiteCertificate:
    private_folder(folder)
    _retire(folder, now)
    pem = serialization.Encoding.PEM
    _write_private(
        folder / KEY_FILE,
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    _write_private(folder / CERTIFICATE_FILE, certificate.public_bytes(pem))
    if chain:
        _write_private(folder / CHAIN_FILE, b"".join(c.public_bytes(pem) for c in chain))
    return _described(folder, certificate)


def create_site_certificate(
    site_name: str,
    *,
    folder: Path | None = None,
    replace: bool = False,
    now: dt.datetime | None = None,
) -> SiteCertificate:
    """Make the site's signing key and a self-signed certificate naming it.

    RSA 3072 (NIST's strength for use past 2030): an elliptic-curve key would make pyHanko
    declare the file PDF 2.0 (ISO 32002), which PDF/A-3, a PDF 1.7 profile, does not allow.
    """
    site = " ".join(site_name.split())
    if not site:
        raise InvalidInput("Give the site's name, as the certificate should show it.")
    folder = folder or signing_folder()
    _refuse_replacing(folder, replace)
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{site} (IDS Accountability)"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, site),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now.replace(year=now.year + YEARS_VALID))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _keep(folder, key, certificate, [], now)


def import_site_certificate(
    p12: Path,
    password: str,
    *,
    folder: Path | None = None,
    replace: bool = False,
    now: dt.datetime | None = None,
) -> SiteCertificate:
    """Keep the key and certificate of a PKCS#12 file (.p12/.pfx) from the hospital's CA."""
    try:
        data = p12.expanduser().read_bytes()
    except OSError as error:
        raise InvalidInput(f"Cannot read {p12}: {error.strerror}.") from None
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(data, password.encode() or None)
    except ValueError:
        raise InvalidInput(
            f"{p12.name} could not be opened: the password is wrong, or it is not a PKCS#12 "
            "(.p12 or .pfx) file."
        ) from None
    if certificate is None or not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise InvalidInput(
            f"{p12.name} holds no signing key (RSA or ECDSA) with its certificate; ask the "
            "hospital's certificate authority for a PKCS#12 file with both."
        )
    folder = folder or signing_folder()
    _refuse_replacing(folder, replace)
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return _keep(folder, key, certificate, list(chain), now)
