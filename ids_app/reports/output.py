"""Writing report files: whole or not at all.

A report is written to a temporary file beside its target and renamed over it only when
complete, so a failed or cancelled export never leaves a partial file behind
(a half-written binder would be an inaccurate copy: 21 CFR 11.10(b)).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ids_app.errors import IdsError


class OutputNotWritable(IdsError):
    """The report cannot be written where it was asked for."""


def check_target(path: Path | str, suffix: str) -> Path:
    """The absolute target path, or one sentence on why it cannot be written."""
    target = Path(path).expanduser().absolute()
    if target.suffix.lower() != suffix:
        raise OutputNotWritable(f"The file {target.name} should end in {suffix}; rename it.")
    folder = target.parent
    if not folder.is_dir():
        raise OutputNotWritable(f"Cannot write {target}: the folder {folder} does not exist.")
    if target.is_dir():
        raise OutputNotWritable(f"Cannot write {target}: it is a folder; name a file.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputNotWritable(f"Cannot write {target}: the folder {folder} is not writable.")
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputNotWritable(f"Cannot write {target}: the file exists and is read-only.")
    return target


@contextlib.contextmanager
def staged(target: Path) -> Iterator[Path]:
    """A temporary file beside ``target`` that is removed if anything fails.

    The caller renames it over ``target`` with :func:`publish` when the export is complete.
    """
    try:
        handle, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
    except OSError as error:
        raise OutputNotWritable(f"Cannot write {target}: {error.strerror}.") from None
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
    finally:
        temporary.unlink(missing_ok=True)


def publish(temporary: Path, target: Path) -> None:
    """Move a complete temporary file onto its target in one step."""
    try:
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as error:
        raise OutputNotWritable(f"Cannot write {target}: {error.strerror}.") from None


def marked(target: Path, mark: str) -> Path:
    """``target`` with ``mark`` in its name unless it is there already (e.g. "unblinded")."""
    if mark.lower() in target.stem.lower():
        return target
    return target.with_name(f"{target.stem}-{mark}{target.suffix}")
