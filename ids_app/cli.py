"""`ids-app`: the desktop app by default, and headless commands for administration.

Every command goes through the same services as the GUI; a refusal prints its sentence
and exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ids_app import __version__
from ids_app.config import resolve_database_url
from ids_app.console import NEW_PASSWORD_ENV, PASSWORD_ENV, ask_password, open_database
from ids_app.db import Database, backup_database, parse_database_url
from ids_app.errors import IdsError
from ids_app.migrations.schema import prepare_database
from ids_app.reports.commands import add_report_commands
from ids_app.signing.commands import add_signing_commands
from ids_app.users.models import Role, User

Handler = Callable[[argparse.Namespace], int]


def cmd_gui(args: argparse.Namespace) -> int:
    db = open_database(args)
    from ids_app.ui.app import run_app

    return run_app(db)


def cmd_demo(args: argparse.Namespace) -> int:
    from ids_app.demo import build_demo

    url = parse_database_url(resolve_database_url(args.database))
    target = Path(url.database or "") if url.get_backend_name() == "sqlite" else None
    if target is None or target.exists():
        db = open_database(args)
        people = build_demo(db)
    else:
        # A new demo file is built beside its place and moved in only when complete,
        # so a failed build never leaves a half-made demo for the next start to open.
        building = target.with_name(target.name + ".building")
        building.unlink(missing_ok=True)
        db = Database(url.set(database=str(building)))
        try:
            prepare_database(db)
            people = build_demo(db)
        except BaseException:
            db.dispose()
            for leftover in (building, *(Path(f"{building}{end}") for end in ("-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
            raise
        db.dispose()
        building.replace(target)
        db = Database(url)
    print(f"Demo database ready: {db.description}")
    db.dispose()  # a server database may be copied as a template next: no session left open
    for person in people:
        print(f"  {person.role.label:<14} {person.username:<8} password: {person.password}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the record is intact, 1 with findings, 2 when it cannot be checked."""
    from ids_app.audit.anchors import parse_anchor, read_anchors
    from ids_app.audit.integrity import verify_database
    from ids_app.migrations.schema import open_for_checking

    anchors = [parse_anchor(text) for text in args.anchor]
    if args.anchors is not None:
        anchors += read_anchors(Path(args.anchors))
    db = open_for_checking(resolve_database_url(args.database))
    try:
        with db.read_session() as session:
            report = verify_database(session, tuple(anchors))
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    else:
        out = sys.stdout if report.intact else sys.stderr
        for finding in report.findings:
            print(finding.line(), file=out)
        print(report.summary(), file=out)
    return 0 if report.intact else 1


def cmd_backup(args: argparse.Namespace) -> int:
    db = open_database(args, allow_upgrade=False)
    path = backup_database(db, Path(args.destination))
    print(f"Backed up {db.description} to {path}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    db = Database(resolve_database_url(args.database))
    print(prepare_database(db).summary())
    return 0


def cmd_copy(args: argparse.Namespace) -> int:
    from ids_app.migrations.copy import copy_database

    source = Database(args.source)
    prepare_database(source, allow_upgrade=False)
    target = Database(args.target)
    report = copy_database(source, target, progress=lambda line: print(line, file=sys.stderr))
    print(report.summary())
    return 0


def cmd_grants(args: argparse.Namespace) -> int:
    from ids_app.migrations.roles import apply_grants, grant_statements

    db = open_database(args, allow_upgrade=False)
    statements = (apply_grants if args.apply else grant_statements)(db, args.app_role)
    for statement in statements:
        print(f"{statement};")
    return 0


def _print_user(user: User) -> None:
    flags = [
        flag
        for flag, on in (
            ("inactive", not user.active),
            ("locked", user.locked),
            ("must change password", user.must_change_password),
        )
        if on
    ]
    print(f"{user.username:<16} {user.full_name:<24} {user.role.label:<14} {', '.join(flags)}")


def cmd_users_list(args: argparse.Namespace) -> int:
    from ids_app.users.services import list_users

    db = open_database(args, allow_upgrade=False)
    with db.read_session() as session:
        for user in list_users(session):
            _print_user(user)
    return 0


def cmd_users_create_admin(args: argparse.Namespace) -> int:
    from ids_app.users.services import create_first_administrator

    db = open_database(args)
    password = ask_password(f"New password for {args.username}: ", NEW_PASSWORD_ENV)
    with db.unit_of_work() as session:
        user = create_first_administrator(session, args.username, args.full_name, password)
        _print_user(user)
    return 0


def _admin_action(args: argparse.Namespace, act: Callable[..., User], *extra: object) -> int:
    from ids_app.users.services import sign_in

    db = open_database(args, allow_upgrade=False)
    password = ask_password(f"Password for {args.acting_as}: ", PASSWORD_ENV)
    with db.unit_of_work() as session:
        admin = sign_in(session, args.acting_as, password)
        _print_user(act(session, admin, args.username, *extra))
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    from ids_app.users.services import add_user

    temporary = ask_password(f"Temporary password for {args.username}: ", NEW_PASSWORD_ENV)
    return _admin_action(args, add_user, args.full_name, Role(args.role), temporary)


def cmd_users_deactivate(args: argparse.Namespace) -> int:
    from ids_app.users.services import deactivate_user

    return _admin_action(args, deactivate_user, args.reason)


def cmd_users_reactivate(args: argparse.Namespace) -> int:
    from ids_app.users.services import reactivate_user

    return _admin_action(args, reactivate_user, args.reason)


def cmd_users_unlock(args: argparse.Namespace) -> int:
    from ids_app.users.services import unlock_user

    return _admin_action(args, unlock_user)


def cmd_users_reset_password(args: argparse.Namespace) -> int:
    from ids_app.users.services import reset_password

    temporary = ask_password(f"Temporary password for {args.username}: ", NEW_PASSWORD_ENV)
    return _admin_action(args, reset_password, temporary)


def _database_option() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--database",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="SQLAlchemy URL, e.g. sqlite:///ids.sqlite or postgresql+psycopg://user@host/ids "
        "(default: $IDS_DATABASE_URL, else ids.sqlite in the user's data directory)",
    )
    return parent


def _add_users_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    users = commands.add_parser("users", help="administer user accounts headless")
    verbs = users.add_subparsers(dest="verb", required=True, metavar="ACTION")
    admin = argparse.ArgumentParser(add_help=False, parents=[common])
    admin.add_argument(
        "--as",
        dest="acting_as",
        required=True,
        metavar="ADMIN",
        help=f"the administrator acting (password from ${PASSWORD_ENV} or a prompt)",
    )

    verbs.add_parser("list", parents=[common], help="list every account").set_defaults(
        handler=cmd_users_list
    )
    first = verbs.add_parser(
        "create-admin",
        parents=[common],
        help="first administrator of an empty database "
        f"(password from ${NEW_PASSWORD_ENV} or a prompt)",
    )
    first.add_argument("username")
    first.add_argument("full_name", help="printed name, shown with signatures")
    first.set_defaults(handler=cmd_users_create_admin)

    add = verbs.add_parser(
        "add",
        parents=[admin],
        help=f"add a user with a temporary password (from ${NEW_PASSWORD_ENV} or a prompt)",
    )
    add.add_argument("username")
    add.add_argument("full_name", help="printed name, shown with signatures")
    add.add_argument("role", choices=[role.value for role in Role])
    add.set_defaults(handler=cmd_users_add)

    for verb, handler, helptext in (
        ("deactivate", cmd_users_deactivate, "deactivate an account (never deleted)"),
        ("reactivate", cmd_users_reactivate, "reactivate a deactivated account"),
    ):
        sub = verbs.add_parser(verb, parents=[admin], help=helptext)
        sub.add_argument("username")
        sub.add_argument("--reason", required=True, help="kept in the audit trail")
        sub.set_defaults(handler=handler)
    unlock = verbs.add_parser("unlock", parents=[admin], help="unlock a locked-out account")
    unlock.add_argument("username")
    unlock.set_defaults(handler=cmd_users_unlock)
    reset = verbs.add_parser(
        "reset-password",
        parents=[admin],
        help=f"set a temporary password (from ${NEW_PASSWORD_ENV} or a prompt)",
    )
    reset.add_argument("username")
    reset.set_defaults(handler=cmd_users_reset_password)


def build_parser() -> argparse.ArgumentParser:
    common = _database_option()
    parser = argparse.ArgumentParser(
        prog="ids-app",
        description="IDS Accountability: investigational drug accountability. "
        "With no command, opens the desktop app.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.set_defaults(handler=cmd_gui, database=None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser(
        "gui", parents=[common], help="open the desktop app (the default)"
    ).set_defaults(handler=cmd_gui)
    commands.add_parser(
        "demo", parents=[common], help="build a demo database with seed users for each role"
    ).set_defaults(handler=cmd_demo)
    verify = commands.add_parser(
        "verify",
        parents=[common],
        help="prove the record intact, read-only: trail, records, signatures, guards "
        "(exit 0 intact, 1 findings, 2 cannot check)",
    )
    verify.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="ID:HASH",
        help="a chain head kept outside the database (printed on reports, in the anchor "
        "log); repeatable",
    )
    verify.add_argument("--anchors", metavar="FILE", help="an anchor log: check every anchor in it")
    verify.add_argument("--json", action="store_true", help="print the findings as JSON")
    verify.set_defaults(handler=cmd_verify)
    backup = commands.add_parser(
        "backup", parents=[common], help="online, consistent copy of a SQLite database"
    )
    backup.add_argument("destination", help="new file to write")
    backup.set_defaults(handler=cmd_backup)
    commands.add_parser(
        "migrate", parents=[common], help="upgrade a database to this version's schema"
    ).set_defaults(handler=cmd_migrate)
    copy = commands.add_parser(
        "copy",
        help="copy a workstation's database into an empty one (e.g. a server), then check it",
    )
    copy.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="the database to copy, e.g. sqlite:////path/ids.sqlite",
    )
    copy.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="URL",
        help="an empty database, e.g. postgresql+psycopg://ids_owner@host/ids",
    )
    copy.set_defaults(handler=cmd_copy)
    grants = commands.add_parser(
        "grants",
        parents=[common],
        help="print (or --apply) the least-privilege GRANTs for the app's server role",
    )
    grants.add_argument("--app-role", required=True, help="the role workstations connect as")
    grants.add_argument("--apply", action="store_true", help="run them (as the schema owner)")
    grants.set_defaults(handler=cmd_grants)
    _add_users_commands(commands, common)
    add_report_commands(commands, common)
    add_signing_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except IdsError as error:
        print(f"ids-app: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
