"""Identifiers (kit, lot, subject, shipment, protocol numbers) are what is printed on a
label and scanned back: trimmed, and never holding a character that cannot be printed.

A NUL, a tab or a zero-width space inside a kit number makes two kits that read the same
on paper and differ in the record; a scanner's stray control code does the same. Every
service that takes an identifier passes it through :func:`identifier`.
"""

from __future__ import annotations

import unicodedata

from ids_app.errors import InvalidInput

# Control, format (zero-width, direction marks), line and paragraph separators.
UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp"})
# Control characters have no Unicode name: the ones people meet, in their words.
SPOKEN = {"\x00": "a NUL", "\t": "a tab", "\n": "a line break", "\r": "a line break"}


def unprintable_character(text: str) -> str | None:
    """The first character of ``text`` that cannot be printed, named for a person."""
    for character in text:
        if unicodedata.category(character) in UNPRINTABLE:
            name = SPOKEN.get(character) or unicodedata.name(character, "").lower()
            code = f"U+{ord(character):04X}"
            return f"{name}, {code}" if name else code
    return None


def identifier(value: str, what: str) -> str:
    """``value`` trimmed, or a refusal that says which character is wrong."""
    cleaned = value.strip()
    if not cleaned:
        raise InvalidInput(f"The {what} is empty; scan or type it.")
    bad = unprintable_character(cleaned)
    if bad is not None:
        raise InvalidInput(
            f"The {what} holds a character that cannot be printed ({bad}); scan or type it again."
        )
    return cleaned


def optional_identifier(value: str | None, what: str) -> str | None:
    if value is None or not value.strip():
        return None
    return identifier(value, what)
