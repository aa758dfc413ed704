"""Anchors: the chain's head copied outside the database, where a forger cannot reach it.

Anyone with the database file and this source can recompute every hash of an edited
chain. An anchor (an entry id and its hash) written elsewhere when that entry was the
head defeats it: the re-forged chain gives that entry another hash. The anchor log is a
plain text file, one ``at<TAB>ID:HASH<TAB>why`` line each, appended at every export and
once a day the app is used, in a folder the site chooses.
"""

from __future__ import annotations

import re
from pathlib import Path

from ids_app.audit.verification import Anchor
from ids_app.errors import InvalidInput

ANCHOR = re.compile(r"\b(\d+):([0-9a-f]{64})\b")


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
