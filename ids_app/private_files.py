"""The record's files are for their owner only: a data folder any local account could
list, or a database any of them could copy (every record, every password hash), is a
finding on a shared workstation (21 CFR 11.10(d), limiting access to the system).

On POSIX the data folder is 0700 and the database, its -wal/-shm/-journal, backups and
the error log 0600, whatever the user's umask; an existing install with wider permissions
is tightened when the app opens it, or named in a warning when this account does not own
it. Other systems keep their own access control (a Windows profile folder is private).
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
# SQLite's companions of a database file; they hold the same records.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


class WidePermissionsWarning(UserWarning):
    """A file of the record that others can read, and that this account cannot tighten."""


def _is_posix() -> bool:
    return os.name == "posix"


def keep_private(path: Path, mode: int) -> None:
    """Tighten ``path`` to ``mode`` when group or others have any access to it."""
    if not _is_posix() or not path.exists():
        return
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077 == 0:
        return
    if path.stat().st_uid != os.geteuid():
        warnings.warn(
            f"{path} can be read by other accounts on this computer (permissions "
            f"{current:o}) and belongs to another account; ask its owner or your "
            f"administrator to make it private ({mode:o}).",
            WidePermissionsWarning,
            stacklevel=2,
        )
        return
    path.chmod(mode)


def private_folder(path: Path) -> Path:
    """Create ``path`` (and its missing parents) owner-only, or tighten it."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    keep_private(path, FOLDER_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty and owner-only if it is missing, or tighten it."""
    if _is_posix() and not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    keep_private(path, FILE_MODE)
    return path


def private_database_file(path: Path) -> None:
    """The SQLite file and its companions, owner-only. SQLite gives a new -wal or -shm the
    database file's own permissions, so a private database keeps them private too."""
    private_file(path)
    for suffix in SQLITE_COMPANIONS:
        keep_private(path.with_name(path.name + suffix), FILE_MODE)
