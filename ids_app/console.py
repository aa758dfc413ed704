"""What every headless command shares: opening the database and asking for a password.

Qt-free, so the report commands can use it as well as ``ids_app.cli``.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from ids_app.audit.anchors import AnchorLogProblem, anchor_once_a_day
from ids_app.config import resolve_database_url
from ids_app.db import Database
from ids_app.migrations.guards import check_guards
from ids_app.migrations.schema import prepare_database

PASSWORD_ENV = "IDS_PASSWORD"
NEW_PASSWORD_ENV = "IDS_NEW_PASSWORD"


def open_database(args: argparse.Namespace, *, allow_upgrade: bool = True) -> Database:
    """The database named by ``--database`` (or the default), at this version's schema."""
    db = Database(resolve_database_url(args.database))
    # A server is shared: only `ids-app migrate`, run on purpose, ever upgrades it.
    outcome = prepare_database(db, allow_upgrade=allow_upgrade and db.is_sqlite)
    if outcome.before != outcome.after:
        print(outcome.summary(), file=sys.stderr)
    check_guards(db)  # never write to a database whose append-only triggers were removed
    try:
        anchor_once_a_day(db)
    except AnchorLogProblem as problem:
        print(f"ids-app: {problem}", file=sys.stderr)  # the work itself may go on
    return db


def ask_password(prompt: str, env: str = PASSWORD_ENV) -> str:
    """From the environment (scripts) or a prompt that does not echo (people)."""
    value = os.environ.get(env)
    if value is not None:
        return value
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(prompt)
