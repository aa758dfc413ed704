"""Reading a Code 128 symbol back out of a PDF page, to check what a label's bars say.

The bars are the black rectangles WeasyPrint draws from the SVG; their widths, measured in
the narrowest bar's width (one module), spell the symbols. Decoding checks the start code,
the checksum and the stop pattern, so a wrong bar anywhere fails.
"""

from __future__ import annotations

from collections import Counter

from barcode.charsets.code128 import CODES, STOP
from pypdf import PageObject
from pypdf.generic import ContentStream

START = {103: "A", 104: "B", 105: "C"}
SWITCH = {99: "C", 100: "B", 101: "A"}


def black_bars(page: PageObject) -> list[tuple[float, float]]:
    """(x, width) of every black rectangle of the most common height: the bars."""
    stream = ContentStream(page.get_contents(), page.pdf)
    fill: tuple[float, ...] = ()
    pending: list[float] | None = None
    found: list[tuple[float, float, float]] = []
    for operands, operator in stream.operations:
        if operator == b"rg":
            fill = tuple(float(value) for value in operands)
        elif operator == b"re":
            pending = [float(value) for value in operands]
        elif operator in (b"f", b"F", b"f*") and pending is not None:
            if fill == (0.0, 0.0, 0.0):
                x, _y, width, height = pending
                found.append((x, width, round(height, 3)))
            pending = None
    assert found, "no black rectangles on the page"
    height, _count = Counter(h for _x, _w, h in found).most_common(1)[0]
    return sorted((x, w) for x, w, h in found if h == height)


def modules(bars: list[tuple[float, float]]) -> str:
    """The symbol as a string of 1 (bar) and 0 (space) modules."""
    unit = min(width for _x, width in bars)
    bits = ""
    for (x, width), following in zip(bars, [*bars[1:], None], strict=True):
        bits += "1" * round(width / unit)
        if following is not None:
            bits += "0" * round((following[0] - x - width) / unit)
    return bits


def decode(bits: str) -> str:
    """The text a Code 128 module string carries (start code, checksum and stop checked)."""
    stop = STOP + "11"  # the stop symbol and its two-module termination bar
    assert bits.endswith(stop), "no stop pattern"
    body = bits[: -len(stop)]
    assert len(body) % 11 == 0, "not whole symbols"
    values = [CODES.index(body[i : i + 11]) for i in range(0, len(body), 11)]
    start, *data, check = values
    assert start in START, "no start code"
    assert (start + sum(i * v for i, v in enumerate(data, start=1))) % 103 == check, "checksum"
    charset, text = START[start], ""
    for value in data:
        if value in SWITCH:
            charset = SWITCH[value]
        elif charset == "C":
            text += f"{value:02d}"
        elif charset == "B":
            text += chr(value + 32)
        else:
            text += chr(value + 32) if value < 64 else chr(value - 64)
    return text


def read_code128(page: PageObject) -> str:
    return decode(modules(black_bars(page)))
