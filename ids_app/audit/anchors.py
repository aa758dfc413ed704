"""Anchors: the chain's head copied outside the database, where a forger cannot reach it.

Anyone with the database file and this source can recompute every hash of an edited
chain. An anchor (an entry id and its hash) written elsewhere when that entry was the
head defeats it: the re-forged chain gives that entry another hash. The anchor log is a
plain text file, one ``at<TAB>ID:HASH<TAB>why`` line each, appended at every export and
once a day the app is used, in a folder the site chooses.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from ids_app.audit.models import AuditChainHead
from ids_app.audit.trail import CHAIN_HEAD_ID
from ids_app.audit.verification import Anchor
from ids_app.config import data_dir, workstation_setting
from ids_app.db import Database, utc_now
from ids_app.errors import IdsError, InvalidInput
from ids_app.users.models import User
from ids_app.users.services import sign_in

ANCHOR = re.compile(r"\b(\d+):([0-9a-f]{64})\b")
ANCHOR_DIR_ENV = "IDS_ANCHOR_DIR"
LOG_SUFFIX = ".anchors.log"


class AnchorLogProblem(IdsError):
    """The anchor log could not be written; the record itself is unharmed."""


def anchor_log_path(db: Database) -> Path:
    """Where this database's anchors go: the folder the site chose (``IDS_ANCHOR_DIR``, or
    Settings ``[anchors] folder``, ideally a share the workstation user may append to but
    not rewrite), else beside the database file (a server's: the user's data folder)."""
    chosen = os.environ.get(ANCHOR_DIR_ENV) or workstation_setting("anchors", "folder")
    folder = Path(chosen).expanduser() if chosen else default_anchor_folder(db)
    return folder / f"{_log_name(db)}{LOG_SUFFIX}"


def default_anchor_folder(db: Database) -> Path:
    """Beside the database file; for a server's database, the user's data folder."""
    if db.is_sqlite:
        return Path(db.url.database or "ids.sqlite").expanduser().resolve().parent
    return data_dir()


def _log_name(db: Database) -> str:
    if db.is_sqlite:
        return Path(db.url.database or "ids.sqlite").name
    return f"{db.url.host or 'server'}-{db.url.database or 'ids'}"


def chosen_anchor_folder(text: str) -> str:
    """The anchor folder typed in Settings, checked before it is kept ("" = the default).

    A folder that is not there now (a share not connected, a typing slip) would only be
    found out at the next export, when the anchor could not be written.
    """
    chosen = text.strip()
    if not chosen:
        return ""
    folder = Path(chosen).expanduser()
    if not folder.is_absolute():
        raise InvalidInput(
            "Give the anchor folder's full path (such as \\\\server\\share\\ids-anchors "
            f"or /mnt/ids-anchors), not '{chosen}'."
        )
    if not folder.is_dir():
        raise InvalidInput(
            f"The anchor folder {folder} does not exist or is not a folder; is the network "
            "share connected?"
        )
    return str(folder)


def chain_head(session: Session) -> Anchor | None:
    head = session.get(AuditChainHead, CHAIN_HEAD_ID)
    return None if head is None or head.last_id == 0 else Anchor(head.last_id, head.last_hash)


def append_anchor(db: Database, why: str, *, now: dt.datetime | None = None) -> Anchor | None:
    """Append the chain's current head to the anchor log, one line: when, ID:HASH, why."""
    with db.read_session() as session:
        anchor = chain_head(session)
    if anchor is None:
        return None
    path = anchor_log_path(db)
    when = (now or utc_now()).astimezone(dt.UTC)
    line = f"{when:%Y-%m-%dT%H:%M:%SZ}\t{anchor}\t{' '.join(why.split())}\n"
    try:
        with path.open("a", encoding="utf-8") as log:
            log.write(line)
    except OSError as error:
        raise AnchorLogProblem(
            f"The anchor log {path} could not be written ({error.strerror}); the records are "
            "saved, but tell your IDS Accountability administrator."
        ) from None
    return anchor


def anchor_once_a_day(db: Database, *, now: dt.datetime | None = None) -> Anchor | None:
    """Anchor the chain on the first use of the day (by the log's own dates, in UTC)."""
    now = (now or utc_now()).astimezone(dt.UTC)
    path = anchor_log_path(db)
    today = f"{now:%Y-%m-%d}"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    except OSError:
        lines = []  # unreadable: try to append, which says what is wrong
    if lines and lines[-1].startswith(today):
        return None
    return append_anchor(db, "first use of the day", now=now)


@dataclass(frozen=True)
class SignedIn:
    """Who signed in, and why the day's anchor could not be written, if it could not."""

    user: User
    anchor_problem: AnchorLogProblem | None = None


def sign_in_anchoring_the_day(
    db: Database, username: str, password: str, *, now: dt.datetime | None = None
) -> SignedIn:
    """Sign in (one unit of work), then anchor the chain if the app was not used yet today.

    The app may stay open for days, started once; the first sign-in of each day is then
    its first use that day. The head anchored holds this sign-in's own entry. A log that
    cannot be written keeps nobody out: the sign-in is on record, and the problem is said.
    """
    with db.unit_of_work() as session:
        user = sign_in(session, username, password)
    try:
        anchor_once_a_day(db, now=now)
    except AnchorLogProblem as problem:
        return SignedIn(user, problem)
    return SignedIn(user)


def parse_anchor(text: str) -> Anchor:
    found = ANCHOR.fullmatch(text.strip())
    if found is None:
        raise InvalidInput(
            f"'{text}' is not an anchor; give the entry id and its hash as ID:HASH "
            "(64 hexadecimal digits), as printed on a report or in the anchor log."
        )
    return Anchor(int(found[1]), found[2])


def read_anchors(path: Path) -> list[Anchor]:
    """Every anchor in an anchor log (or any text holding ID:HASH anchors)."""
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"Cannot read the anchor log {path}: {error.strerror}.") from None
    anchors = [Anchor(int(found[1]), found[2]) for found in ANCHOR.finditer(text)]
    if not anchors:
        raise InvalidInput(f"{path} holds no anchors (ID:HASH); is it the anchor log?")
    return anchors
