"""`ids-app report …` and `ids-app export …`: the reports, headless.

The person making a report signs in like the GUI does (``--as USER``, the password from
``$IDS_PASSWORD`` or a prompt that does not echo), so the export is attributed in the audit
trail. This module must not import ``ids_app.cli``: that module opens the GUI, and the
import-linter contract keeps Qt out of ``ids_app.reports``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from ids_app.console import PASSWORD_ENV, ask_password, open_database
from ids_app.db import Database
from ids_app.reports.period import Period
from ids_app.users.models import User

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date; write it as YYYY-MM-DD"
        ) from None


def _signed_in(args: argparse.Namespace) -> tuple[Database, User]:
    from ids_app.users.services import sign_in

    db = open_database(args, allow_upgrade=False)
    password = ask_password(f"Password for {args.acting_as}: ")
    with db.unit_of_work() as session:
        user = sign_in(session, args.acting_as, password)
    return db, user


def _period(args: argparse.Namespace) -> Period:
    return Period(args.first, args.last)


def cmd_report_binder(args: argparse.Namespace) -> int:
    from ids_app.reports.exports import export_audit_binder

    db, user = _signed_in(args)
    result = export_audit_binder(
        db, user, args.study, args.out, period=_period(args), unblinded=args.unblinded
    )
    print(
        f"Audit binder ({result.edition.label.lower()}, {result.pages} pages) written to "
        f"{result.path}\nData SHA-256 {result.data_hash}\n"
        f"Audit-trail extract as data written to {result.audit_data_path}"
    )
    if result.signed is None:
        print(
            "NOT SIGNED: this workstation has no site certificate, so the binder says it is "
            "unsigned; make one with ids-app site-certificate create.",
            file=sys.stderr,
        )
    else:
        signed = result.signed
        print(f"Signed by {signed.signer_name}, certificate SHA-256 {signed.fingerprint}")
    return 0


def cmd_export_sponsor(args: argparse.Namespace) -> int:
    from ids_app.reports.exports import export_sponsor_workbook

    db, user = _signed_in(args)
    result = export_sponsor_workbook(
        db,
        user,
        args.study,
        args.out,
        period=_period(args),
        unblinded=args.unblinded,
        cdisc_out=args.cdisc,
    )
    print(f"Sponsor workbook ({result.edition.label.lower()}) written to {result.path}")
    if result.cdisc_path is not None:
        print(f"CDISC DA file ({result.cdisc_rows} rows) written to {result.cdisc_path}")
    return 0


def cmd_report_label(args: argparse.Namespace) -> int:
    from ids_app.reports.exports import export_dispensing_label
    from ids_app.reports.labels import LabelSettings

    settings = LabelSettings.from_environment(
        pharmacy=args.pharmacy,
        phone=args.phone,
        size=args.size,
        directions=args.directions,
        beyond_use=args.beyond_use,
    )
    db, user = _signed_in(args)
    path = export_dispensing_label(db, user, args.order, args.out, settings)
    print(f"Label for order {args.order} written to {path}")
    return 0


def cmd_report_destruction(args: argparse.Namespace) -> int:
    from ids_app.reports.exports import export_destruction_certificate

    db, user = _signed_in(args)
    path = export_destruction_certificate(db, user, args.study, args.disposal, args.out)
    print(f"Certificate for disposal {args.disposal} written to {path}")
    return 0


def cmd_report_monitor_visit(args: argparse.Namespace) -> int:
    from ids_app.reports.exports import export_monitor_visit_report

    db, user = _signed_in(args)
    path = export_monitor_visit_report(db, user, args.study, args.out, period=_period(args))
    print(f"Monitor-visit report written to {path}")
    return 0


def _order_number(text: str) -> int:
    try:
        number = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an order number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not an order number")
    return number


def _study_options(parser: argparse.ArgumentParser, out: str) -> None:
    parser.add_argument("--study", required=True, metavar="PROTOCOL", help="protocol number")
    parser.add_argument("--out", required=True, metavar=out, help="file to write")


def _period_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="first", type=_date, metavar="YYYY-MM-DD")
    parser.add_argument("--to", dest="last", type=_date, metavar="YYYY-MM-DD")


def add_report_commands(commands: SubParsers, common: argparse.ArgumentParser) -> None:
    """Register `report binder|label|destruction|monitor-visit` and `export sponsor`."""
    signed = argparse.ArgumentParser(add_help=False, parents=[common])
    signed.add_argument(
        "--as",
        dest="acting_as",
        required=True,
        metavar="USER",
        help=f"who makes the report (password from ${PASSWORD_ENV} or a prompt)",
    )
    report = commands.add_parser("report", help="print a study's records as PDF")
    kinds = report.add_subparsers(dest="report", required=True, metavar="REPORT")

    def add(
        group: SubParsers, name: str, handler: Callable[[argparse.Namespace], int], helptext: str
    ) -> argparse.ArgumentParser:
        parser = group.add_parser(name, parents=[signed], help=helptext)
        parser.set_defaults(handler=handler)
        return parser

    binder = add(kinds, "binder", cmd_report_binder, "the audit binder of a study (PDF)")
    _study_options(binder, "FILE.pdf")
    _period_options(binder)
    binder.add_argument(
        "--unblinded", action="store_true", help="show arms (staff with unblinded access only)"
    )

    label = add(kinds, "label", cmd_report_label, "the label of a verified dispense (PDF)")
    label.add_argument("--order", required=True, type=_order_number, metavar="N")
    label.add_argument("--out", required=True, metavar="FILE.pdf")
    label.add_argument("--pharmacy", metavar="NAME", help="default: $IDS_PHARMACY_NAME")
    label.add_argument("--phone", metavar="PHONE", help="default: $IDS_PHARMACY_PHONE")
    label.add_argument("--size", metavar="WxH", help="label size in inches (default 4x2)")
    label.add_argument("--directions", metavar="TEXT", help="the prescriber's directions")
    label.add_argument(
        "--bud", dest="beyond_use", type=_date, metavar="YYYY-MM-DD", help="beyond-use date"
    )

    destruction = add(
        kinds, "destruction", cmd_report_destruction, "a certificate of destruction (PDF)"
    )
    _study_options(destruction, "FILE.pdf")
    destruction.add_argument("--disposal", required=True, metavar="NUMBER")

    visit = add(kinds, "monitor-visit", cmd_report_monitor_visit, "a monitor-visit report (PDF)")
    _study_options(visit, "FILE.pdf")
    _period_options(visit)

    export = commands.add_parser("export", help="export a study's records for the sponsor")
    targets = export.add_subparsers(dest="export", required=True, metavar="EXPORT")
    sponsor = add(targets, "sponsor", cmd_export_sponsor, "the sponsor workbook (xlsx)")
    _study_options(sponsor, "FILE.xlsx")
    _period_options(sponsor)
    sponsor.add_argument(
        "--unblinded", action="store_true", help="show arms (staff with unblinded access only)"
    )
    sponsor.add_argument(
        "--cdisc", metavar="FILE.csv", help="also write the CDISC DA domain as CSV"
    )
