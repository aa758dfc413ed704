"""A damaged file from a sponsor or a logger is refused in one sentence, never a
traceback, and nothing is recorded: the kit list, packing list and logger readers all
read through studies/tables.py."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]

from ids_app.storage.readings import read_logger_file
from ids_app.studies.tables import TableUnreadable, read_table


def _good_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["Kit", "Lot", "Expiry"])
    sheet.append(["1001", "L2301", "2027-10-05"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rewritten(member: str, content: bytes) -> bytes:
    """A good workbook with one part replaced."""
    source = zipfile.ZipFile(io.BytesIO(_good_xlsx()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            target.writestr(item, content if item.filename == member else source.read(item))
    return buffer.getvalue()


DAMAGED: dict[str, Callable[[], bytes]] = {
    "broken workbook XML": lambda: _rewritten("xl/workbook.xml", b"<workbook><sheets"),
    "broken sheet XML": lambda: _rewritten(
        "xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row"
    ),
    "not a zip": lambda: b"PK\x03\x04 this is not really a zip file at all",
    "truncated zip": lambda: _good_xlsx()[:900],
    "binary garbage": lambda: bytes(range(256)) * 8,
    "empty": lambda: b"",
}


@pytest.mark.parametrize("kind", sorted(DAMAGED))
@pytest.mark.parametrize("reader", [read_table, read_logger_file])
def test_a_damaged_workbook_is_refused_in_one_sentence(
    tmp_path: Path, kind: str, reader: Callable[[Path], object]
) -> None:
    path = tmp_path / "kit list.xlsx"
    path.write_bytes(DAMAGED[kind]())
    with pytest.raises(TableUnreadable) as refused:
        reader(path)
    message = str(refused.value)
    assert "kit list.xlsx" in message
    assert "\n" not in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"Kit,Lot\n1001,\xff\xfe\xfa\n", "is not UTF-8 text"),
        (b"\x00\x00\x00", "holds NUL characters"),
        (b"Kit,Lot\n10\x0001,L2301\n", "line 2 holds NUL characters"),
        (b"", "is empty"),
    ],
    ids=["not UTF-8", "only NUL bytes", "a kit number with a NUL", "empty"],
)
def test_a_damaged_csv_kit_list_is_refused_in_one_sentence(
    tmp_path: Path, content: bytes, said: str
) -> None:
    path = tmp_path / "kits.csv"
    path.write_bytes(content)
    with pytest.raises(TableUnreadable, match=said):
        read_table(path)
