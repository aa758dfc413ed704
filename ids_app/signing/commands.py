"""`ids-app site-certificate …` and `ids-app verify-binder`: signing, headless.

The site certificate is this workstation's, like its Settings: making or importing one
needs this account, not a sign-in to the record (the database never holds the key).
`verify-binder` needs neither: a monitor runs it on the file they received.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ids_app.console import ask_password
from ids_app.signing.checks import CheckFailed, check_signed_file
from ids_app.signing.site import (
    SiteCertificate,
    create_site_certificate,
    import_site_certificate,
    parse_fingerprint,
    site_certificate,
)

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

P12_PASSWORD_ENV = "IDS_P12_PASSWORD"


def _print_certificate(certificate: SiteCertificate) -> None:
    print(
        f"Site certificate: {certificate.signer_name}\n"
        f"  SHA-256 fingerprint: {certificate.fingerprint_text}\n"
        f"  Valid until {certificate.valid_until:%Y-%m-%d}\n"
        f"  Kept in {certificate.folder} (the key file is readable by this account only)\n"
        "Give the fingerprint to your monitors: they compare it with the one on each binder."
    )


def cmd_create(args: argparse.Namespace) -> int:
    from ids_app.reports.common import site_name

    _print_certificate(create_site_certificate(args.site or site_name(), replace=args.replace))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    password = ask_password(f"Password of {Path(args.file).name}: ", P12_PASSWORD_ENV)
    _print_certificate(import_site_certificate(Path(args.file), password, replace=args.replace))
    return 0


def cmd_show(_args: argparse.Namespace) -> int:
    certificate = site_certificate()
    if certificate is None:
        print(
            "This workstation has no site certificate: files are exported unsigned. "
            "Make one with ids-app site-certificate create.",
            file=sys.stderr,
        )
        return 1
    _print_certificate(certificate)
    return 0


def cmd_verify_binder(args: argparse.Namespace) -> int:
    """Exit 0 when the file is what the site signed, 1 (one sentence) when it is not."""
    fingerprint = None if args.fingerprint is None else parse_fingerprint(args.fingerprint)
    try:
        check = check_signed_file(Path(args.file), fingerprint=fingerprint)
    except CheckFailed as failure:
        print(f"NOT VERIFIED: {failure}", file=sys.stderr)
        return 1
    for line in check.lines():
        print(line)
    if fingerprint is None:
        print(
            "  The certificate was not compared: run again with --fingerprint and the "
            "SHA-256 the site gave you, or compare the one above by eye."
        )
    return 0


def add_signing_commands(commands: SubParsers) -> None:
    """Register `site-certificate create|import|show` and `verify-binder` (neither opens
    a database)."""
    site = commands.add_parser(
        "site-certificate",
        help="the site's signing key and certificate on this workstation (outside the database)",
    )
    verbs = site.add_subparsers(dest="verb", required=True, metavar="ACTION")
    create = verbs.add_parser("create", help="make a signing key and a self-signed certificate")
    create.add_argument("--site", metavar="NAME", help="the site's name (default: Settings)")
    create.add_argument("--replace", action="store_true", help="replace the existing one")
    create.set_defaults(handler=cmd_create)
    imported = verbs.add_parser(
        "import",
        help=f"keep the key and certificate of a PKCS#12 file from the hospital's CA "
        f"(password from ${P12_PASSWORD_ENV} or a prompt)",
    )
    imported.add_argument("file", metavar="FILE.p12")
    imported.add_argument("--replace", action="store_true", help="replace the existing one")
    imported.set_defaults(handler=cmd_import)
    verbs.add_parser("show", help="the certificate and its SHA-256 fingerprint").set_defaults(
        handler=cmd_show
    )

    verify = commands.add_parser(
        "verify-binder",
        help="check a signed binder, certificate or report with the file alone "
        "(exit 0 verified, 1 not)",
    )
    verify.add_argument("file", metavar="FILE.pdf")
    verify.add_argument(
        "--fingerprint",
        metavar="SHA256",
        help="the site certificate's SHA-256 fingerprint, as the site gave it",
    )
    verify.set_defaults(handler=cmd_verify_binder)
