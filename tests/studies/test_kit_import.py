"""Importing the sponsor's kit list: CSV or xlsx, every bad row named, all or nothing."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest
from sqlalchemy import func, select

from ids_app.audit.models import AuditEntry
from ids_app.db import Database
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.inventory.models import Kit, LedgerEntry, Lot
from ids_app.studies.kit_import import (
    IMPORT_CANCELLED,
    KIT_LIST_PRESETS,
    PREVIEW_CANCELLED,
    ROWS_PER_STEP,
    KitListCancelled,
    KitListMapping,
    KitListPreview,
    KitListRejected,
    guess_kit_list_mapping,
    import_kit_list,
    preview_kit_list,
    treatment_values,
)
from ids_app.studies.models import Product, ProductRole, Study, Tracking
from ids_app.studies.services import add_product, add_staff
from ids_app.studies.tables import (
    DateOrder,
    Table,
    TableUnreadable,
    UnreadableDate,
    guess_header,
    parse_date,
    read_table,
)
from ids_app.users.models import User
from tests.factories import EXPIRY, Example, make_example, receive_kits

ISO = EXPIRY.isoformat()
GENERIC = "Kit Number,Lot Number,Expiry Date,Treatment\n"
# ABC-123's arms, by code or name, and the wrong treatment 'C' the lists below carry.
ARM_TEXT = re.compile(r"\b[ABC]\b|ABC 10 mg|Placebo")


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


@pytest.fixture
def unblinded(db: Database, example: Example) -> User:
    """The study's unblinded pharmacist: kit lists with arms are theirs to load."""
    with db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        add_staff(
            session,
            example.people.admin,
            study,
            example.people.pharm2,
            "Unblinded pharmacist",
            unblinded=True,
            reason="unblinded pharmacist for the IWRS",
        )
    return example.people.pharm2


def _csv(tmp_path: Path, text: str, name: str = "kits.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _xlsx(tmp_path: Path, rows: list[list[object]], name: str = "kits.xlsx") -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def _mapping(table: Table) -> KitListMapping:
    mapping = guess_kit_list_mapping(table.headers)
    assert mapping is not None
    return mapping


def _preview(
    db: Database,
    example: Example,
    actor: User,
    path: Path,
    mapping: KitListMapping | None = None,
) -> KitListPreview:
    table = read_table(path)
    with db.read_session() as session:
        study = session.get_one(Study, example.study.id)
        product = session.get_one(Product, example.product.id)
        return preview_kit_list(session, actor, study, product, table, mapping or _mapping(table))


def _import(
    db: Database,
    example: Example,
    actor: User,
    path: Path,
    mapping: KitListMapping | None = None,
) -> list[str]:
    table = read_table(path)
    with db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        product = session.get_one(Product, example.product.id)
        kits = import_kit_list(session, actor, study, product, table, mapping or _mapping(table))
        return [kit.kit_number for kit in kits]


def _kit_count(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(Kit)) or 0


def test_good_kit_list_creates_kits_with_their_lot_expiry_and_arm(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _csv(tmp_path, GENERIC + f"1001,L2301,{ISO},A\n1002,L2301,{ISO},Placebo\n")
    assert _import(db, example, unblinded, path) == ["1001", "1002"]
    with db.read_session() as session:
        kits = {kit.kit_number: kit for kit in session.scalars(select(Kit))}
        lot = session.scalars(select(Lot)).one()
        reasons = set(
            session.scalars(select(AuditEntry.reason).where(AuditEntry.table_name == "kit"))
        )
        entries = session.scalar(select(func.count()).select_from(LedgerEntry))
    assert (lot.lot_number, lot.expiry) == ("L2301", EXPIRY)
    assert kits["1001"].arm_id == example.drug_arm.id
    assert kits["1002"].arm_id == example.placebo_arm.id
    assert {kit.lot_id for kit in kits.values()} == {lot.id}
    assert entries == 0  # kits are received later, through receiving
    assert reasons == {"kit list imported from kits.csv"}


def test_imported_kits_are_then_received_against_the_list(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    _import(db, example, unblinded, _csv(tmp_path, GENERIC + f"1001,L2301,{ISO},A\n"))
    receive_kits(db, example, range(1001, 1002))
    assert _kit_count(db) == 1


def _long_list(tmp_path: Path, rows: int) -> Path:
    lines = "".join(f"{5001 + n},L2301,{ISO},{'AB'[n % 2]}\n" for n in range(rows))
    return _csv(tmp_path, GENERIC + lines)


def _counts(db: Database) -> list[int]:
    """Kits, lots and audit entries on record."""
    with db.read_session() as session:
        return [
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Kit, Lot, AuditEntry)
        ]


def test_blinded_preview_names_no_arm_where_the_unblinded_pharmacist_sees_them(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _csv(
        tmp_path,
        GENERIC + f"1001,L1,{ISO},A\n1002,L1,{ISO},Placebo\n1003,L1,{ISO},C\n1004,,{ISO},B\n",
    )
    seen = _preview(db, example, unblinded, path)
    assert [draft.arm_code for draft in seen.to_create] == ["A", "B"]
    assert [str(error) for error in seen.errors] == [
        "Line 4: Treatment 'C' is not an arm of ABC-123 (arms: A, B); "
        "map it to an arm in the mapping.",
        "Line 5: The lot number is empty.",
    ]

    blinded = example.people.pharm  # on the study's staff, not unblinded
    hidden = _preview(db, example, blinded, path)
    assert [draft.kit_number for draft in hidden.to_create] == ["1001", "1002"]
    assert [draft.arm_code for draft in hidden.to_create] == [None, None]
    assert [str(error) for error in hidden.errors] == [
        "Line 1: The 'Treatment' column shows each kit's arm; only staff unblinded for "
        "ABC-123 may import it.",
        "Line 4: The treatment is not an arm of ABC-123.",
        "Line 5: The lot number is empty.",
    ]
    shown = [str(error) for error in seen.errors] + [str(d.arm_code) for d in seen.to_create]
    assert any(ARM_TEXT.search(text) for text in shown)  # the control: the search can fail
    texts = [str(error) for error in hidden.errors] + [repr(d) for d in hidden.to_create]
    assert [text for text in texts if ARM_TEXT.search(text)] == []


def test_monitor_may_not_preview_a_kit_list(db: Database, example: Example, tmp_path: Path) -> None:
    path = _csv(tmp_path, f"Kit Number,Lot Number,Expiry Date\n1001,L1,{ISO}\n")
    with pytest.raises(PermissionDenied, match="may import kit lists"):
        _preview(db, example, example.people.monitor, path)


def test_preview_reports_rows_checked_in_steps_up_to_the_total(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    table = read_table(_long_list(tmp_path, 250))
    reported: list[tuple[int, int]] = []
    with db.read_session() as session:
        preview = preview_kit_list(
            session,
            unblinded,
            session.get_one(Study, example.study.id),
            session.get_one(Product, example.product.id),
            table,
            _mapping(table),
            progress=lambda done, total: reported.append((done, total)),
        )
    assert len(preview.to_create) == 250
    assert ROWS_PER_STEP == 100
    assert reported == [(0, 250), (100, 250), (200, 250), (250, 250)]


def test_import_reports_rows_checked_then_kits_created_with_increasing_counts(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    table = read_table(_long_list(tmp_path, 250))
    reported: list[tuple[int, int]] = []
    with db.unit_of_work() as session:
        kits = import_kit_list(
            session,
            unblinded,
            session.get_one(Study, example.study.id),
            session.get_one(Product, example.product.id),
            table,
            _mapping(table),
            progress=lambda done, total: reported.append((done, total)),
        )
    assert len(kits) == 250
    done = [count for count, _total in reported]
    assert done == sorted(set(done))  # strictly increasing
    assert done[0] == 0
    assert {total for _done, total in reported} == {500}  # 250 rows checked, 250 kits made
    assert done[-1] == 500
    assert 250 in done  # the checking ends before the first kit is created
    assert _kit_count(db) == 250


def test_cancelling_the_import_midway_leaves_no_kit_lot_or_audit_entry(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    table = read_table(_long_list(tmp_path, 450))
    before = _counts(db)
    reported: list[int] = []
    written_when_cancelled: list[int] = []
    with pytest.raises(KitListCancelled, match=f"^{re.escape(IMPORT_CANCELLED)}$"):
        with db.unit_of_work() as session:

            def cancelled() -> bool:
                # Cancel once some kits are written in this unit of work, not before.
                if reported[-1] < 450 + 2 * ROWS_PER_STEP:
                    return False
                kits = session.scalar(select(func.count()).select_from(Kit)) or 0
                written_when_cancelled.append(kits)
                return True

            import_kit_list(
                session,
                unblinded,
                session.get_one(Study, example.study.id),
                session.get_one(Product, example.product.id),
                table,
                _mapping(table),
                progress=lambda done, _total: reported.append(done),
                cancelled=cancelled,
            )
    assert written_when_cancelled == [before[0] + 2 * ROWS_PER_STEP]
    assert reported[-1] < 900  # it stopped before the end
    assert _counts(db) == before


def test_cancelling_the_preview_stops_it(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    table = read_table(_long_list(tmp_path, 250))
    reported: list[int] = []
    with (
        db.read_session() as session,
        pytest.raises(KitListCancelled, match=f"^{re.escape(PREVIEW_CANCELLED)}$"),
    ):
        preview_kit_list(
            session,
            unblinded,
            session.get_one(Study, example.study.id),
            session.get_one(Product, example.product.id),
            table,
            _mapping(table),
            progress=lambda done, _total: reported.append(done),
            cancelled=lambda: bool(reported) and reported[-1] >= ROWS_PER_STEP,
        )
    assert reported == [0, ROWS_PER_STEP]


def test_kit_list_row_with_unknown_arm_is_reported_with_its_line(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _csv(tmp_path, GENERIC + f"1001,L2301,{ISO},A\n1002,L2301,{ISO},C\n")
    preview = _preview(db, example, unblinded, path)
    assert [(error.line, error.message) for error in preview.errors] == [
        (
            3,
            "Treatment 'C' is not an arm of ABC-123 (arms: A, B); map it to an arm in the mapping.",
        )
    ]
    assert [draft.kit_number for draft in preview.to_create] == ["1001"]


def test_arm_is_matched_by_code_or_name_ignoring_case(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _csv(
        tmp_path, GENERIC + f"1001,L1,{ISO},a\n1002,L1,{ISO},PLACEBO\n1003,L1,{ISO},abc 10 mg\n"
    )
    preview = _preview(db, example, unblinded, path)
    assert preview.errors == []
    assert [draft.arm_code for draft in preview.to_create] == ["A", "B", "A"]


def test_each_bad_row_is_reported_with_its_line(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _csv(
        tmp_path,
        GENERIC
        + f"1001,L1,{ISO},A\n"
        + f",L1,{ISO},A\n"
        + "1003,L1,31-FEB-2028,A\n"
        + f"1001,L1,{ISO},B\n"
        + "1005,L1,2030-01-31,B\n"
        + f"1006,,{ISO},\n",
    )
    errors = [
        (error.line, error.message) for error in _preview(db, example, unblinded, path).errors
    ]
    assert errors == [
        (3, "The kit number is empty."),
        (4, "Date 31-FEB-2028 is not a day of the calendar."),
        (5, "Kit 1001 is listed twice (first on line 2)."),
        (6, f"Lot L1 has expiry {ISO} on line 2, not 2030-01-31; one lot has one expiry."),
        (7, "The lot number is empty."),
        (7, "The treatment is empty; every kit needs its arm."),
    ]


def test_kit_list_with_a_bad_row_creates_nothing(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _csv(
        tmp_path,
        GENERIC
        + f"1001,L1,{ISO},A\n1002,L1,{ISO},Z\n1003,L1,{ISO},Y\n1004,L1,{ISO},X\n1005,L1,{ISO},W\n",
    )
    with pytest.raises(KitListRejected) as refused:
        _import(db, example, unblinded, path)
    message = str(refused.value)
    assert message.startswith("4 rows of the kit list are wrong, so no kit was imported.")
    assert "Line 3: Treatment 'Z'" in message
    assert "Line 5: Treatment 'X'" in message
    assert "Line 6" not in message
    assert message.endswith("…and 1 more.")
    assert _kit_count(db) == 0
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Lot)) == 0


def test_kit_already_in_the_study_is_reported(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    receive_kits(db, example, range(1001, 1003))
    path = _csv(tmp_path, GENERIC + f"1002,L2301,{ISO},A\n1003,L2301,{ISO},B\n")
    errors = [
        (error.line, error.message) for error in _preview(db, example, unblinded, path).errors
    ]
    assert errors == [(2, "Kit 1002 is already on record in ABC-123.")]


def test_lot_on_record_with_another_expiry_is_reported(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    receive_kits(db, example, range(1001, 1003))
    other = EXPIRY + dt.timedelta(days=30)
    path = _csv(tmp_path, GENERIC + f"1003,L2301,{other.isoformat()},A\n")
    errors = [
        (error.line, error.message) for error in _preview(db, example, unblinded, path).errors
    ]
    assert errors == [
        (
            2,
            f"Lot L2301 has expiry {ISO} on record, not {other.isoformat()}; "
            "one lot has one expiry.",
        )
    ]


def test_missing_columns_are_named_in_one_error(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _csv(tmp_path, "\n\nKit Number,Lot\n1001,L1\n")
    mapping = KitListMapping("Kit Number", "Lot Number", "Expiry Date", "Treatment")
    preview = _preview(db, example, unblinded, path, mapping)
    assert [(error.line, error.message) for error in preview.errors] == [
        (
            3,
            "No row of kits.csv holds the columns 'Kit Number', 'Lot Number', "
            "'Expiry Date', 'Treatment'; choose the columns in the mapping.",
        )
    ]
    assert preview.to_create == []


def test_kit_list_without_rows_is_refused(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    with pytest.raises(KitListRejected, match="Line 1: There are no kits under the header row"):
        _import(db, example, unblinded, _csv(tmp_path, GENERIC))


@pytest.mark.parametrize("preset", list(KIT_LIST_PRESETS.values()))
def test_each_preset_is_recognised_from_the_headers(preset: KitListMapping) -> None:
    arm = preset.arm.replace(" ", "_") if preset.arm else None
    kit, lot = preset.kit_number.upper(), preset.lot_number.lower()
    headers = [kit, lot, preset.expiry, "Site", *([arm] if arm else [])]
    assert guess_kit_list_mapping(headers) == KitListMapping(kit, lot, preset.expiry, arm)


def test_headers_of_no_preset_are_not_guessed() -> None:
    assert guess_kit_list_mapping(["Pack", "Batch", "Use by"]) is None


def test_list_without_a_treatment_column_loads_without_arms(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _csv(tmp_path, f"Kit Number,Lot Number,Expiry Date\n1001,L1,{ISO}\n")
    assert _mapping(read_table(path)).arm is None
    assert _import(db, example, example.people.tech, path) == ["1001"]
    with db.read_session() as session:
        assert session.scalars(select(Kit.arm_id)).one() is None


def test_blinded_staff_may_not_import_a_list_with_arms(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _csv(tmp_path, GENERIC + f"1001,L1,{ISO},A\n")
    with pytest.raises(PermissionDenied, match="only staff unblinded for ABC-123"):
        _import(db, example, example.people.tech, path)


def test_monitor_may_not_import_a_kit_list(db: Database, example: Example, tmp_path: Path) -> None:
    path = _csv(tmp_path, f"Kit Number,Lot Number,Expiry Date\n1001,L1,{ISO}\n")
    with pytest.raises(PermissionDenied, match="may import kit lists"):
        _import(db, example, example.people.monitor, path)


def test_bulk_product_has_no_kit_list(db: Database, example: Example, tmp_path: Path) -> None:
    path = _csv(tmp_path, f"Kit Number,Lot Number,Expiry Date\n1001,L1,{ISO}\n")
    table = read_table(path)
    with db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        bulk = add_product(
            session,
            example.people.tech,
            study,
            agent_name="Rescue",
            strength="5 mg",
            dosage_form="tablet",
            unit="tablet",
            role=ProductRole.COMPARATOR,
            tracking=Tracking.BULK,
            storage_min_c=15,
            storage_max_c=30,
            dispense_quantity=30,
            days_supply=30,
            doses_per_day=1,
        )
        with pytest.raises(InvalidInput, match="counted in bulk; it has no kit list"):
            import_kit_list(session, example.people.tech, study, bulk, table, _mapping(table))


def test_iwrs_extract_preset_loads_from_xlsx_with_date_cells(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    day = dt.date(2028, 1, 31)
    path = _xlsx(
        tmp_path,
        [
            [],
            ["KIT_NO", "LOT", "EXP_DATE", "ARM"],
            [1001, "L1", dt.datetime(2028, 1, 31), "A"],
            [1002.0, "L1", day, "b"],
        ],
    )
    table = read_table(path)
    assert table.header_line == 2
    assert _mapping(table) == KitListMapping("KIT_NO", "LOT", "EXP_DATE", "ARM")
    preview = _preview(db, example, unblinded, path)
    assert [(draft.line, draft.kit_number, draft.expiry) for draft in preview.to_create] == [
        (3, "1001", day),
        (4, "1002", day),
    ]
    assert _import(db, example, unblinded, path) == ["1001", "1002"]


def test_xlsx_error_names_the_sheet_row(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _xlsx(
        tmp_path,
        [
            [],
            ["Kit Number", "Lot Number", "Expiry Date", "Treatment"],
            [1001, "L1", dt.datetime(2028, 1, 31), "A"],
            [1002, "L1", "not yet", "A"],
        ],
    )
    errors = [
        (error.line, error.message) for error in _preview(db, example, unblinded, path).errors
    ]
    assert errors == [(4, "not yet is not a date; write it as 2028-01-31 or 31-JAN-2028.")]


def test_slashed_date_without_a_format_is_refused_as_ambiguous(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _csv(tmp_path, GENERIC + "1001,L1,01/02/2028,A\n")
    errors = [error.message for error in _preview(db, example, unblinded, path).errors]
    assert errors == [
        "Date 01/02/2028 is ambiguous; state the day/month order in the column mapping."
    ]


def test_slashed_date_reads_with_the_mapping_date_format(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _csv(tmp_path, GENERIC + "1001,L1,01/02/2028,A\n1002,L1,2028-02-01,B\n")
    mapping = KitListMapping("Kit Number", "Lot Number", "Expiry Date", "Treatment", "%d/%m/%Y")
    preview = _preview(db, example, unblinded, path, mapping)
    assert preview.errors == []
    assert {draft.expiry for draft in preview.to_create} == {dt.date(2028, 2, 1)}


def test_semicolon_csv_with_bom_and_quoted_line_breaks_keeps_line_numbers(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    text = (
        "\ufeffKit Number;Lot Number;Expiry Date;Treatment\r\n"
        '1001;"L1";31-JAN-2028;A\r\n'
        '"10\n02";L1;31-Jan-2028;B\r\n'
        "1003;L1;31JAN2028;Q\r\n"
    )
    preview = _preview(db, example, unblinded, _csv(tmp_path, text))
    assert [(draft.line, draft.expiry) for draft in preview.to_create] == [
        (2, dt.date(2028, 1, 31)),
    ]
    # A kit number with a line break cannot be printed on a label: refused where it starts.
    assert [error.line for error in preview.errors] == [3, 5]
    assert "a line break" in str(preview.errors[0])


def test_tab_separated_list_is_read(tmp_path: Path) -> None:
    table = read_table(_csv(tmp_path, "KIT_NO\tLOT\tEXP_DATE\n1001\tL1\t2028-01-31\n", "k.txt"))
    assert table.headers == ["KIT_NO", "LOT", "EXP_DATE"]
    assert table.rows[0].values == {"KIT_NO": "1001", "LOT": "L1", "EXP_DATE": "2028-01-31"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("kits.pdf", b"%PDF", "kits.pdf is not a CSV or Excel (.xlsx) file."),
        ("kits.xls", b"\xd0\xcf", "kits.xls is in the old Excel format"),
        ("kits.csv", b"\n ,, \n", "kits.csv is empty."),
        ("kits.csv", "Kit;Lot\n1001;Lö".encode("latin-1"), "kits.csv is not UTF-8 text"),
        ("kits.xlsx", b"not a zip", "kits.xlsx is not a readable Excel (.xlsx) file."),
        ("kits.csv", b"Kit,Kit\n1,2\n", "names the column 'Kit' twice"),
    ],
)
def test_unreadable_files_are_refused_in_one_sentence(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(TableUnreadable, match=re.escape(message)):
        read_table(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TableUnreadable, match=r"Cannot read kits\.csv"):
        read_table(tmp_path / "kits.csv")


@pytest.mark.parametrize(
    ("value", "date_format", "expected"),
    [
        (dt.datetime(2028, 1, 31, 0, 0), None, dt.date(2028, 1, 31)),
        (dt.date(2028, 1, 31), None, dt.date(2028, 1, 31)),
        ("2028-01-31", None, dt.date(2028, 1, 31)),
        ("2028-01-31 00:00:00", None, dt.date(2028, 1, 31)),
        ("31-JAN-2028", None, dt.date(2028, 1, 31)),
        ("31-Jan-2028", None, dt.date(2028, 1, 31)),
        ("01/02/2028", "%m/%d/%Y", dt.date(2028, 1, 2)),
        ("2028-01-31", "%d.%m.%Y", dt.date(2028, 1, 31)),
        ("31-May-2027", None, dt.date(2027, 5, 31)),
        ("31 May 2027", None, dt.date(2027, 5, 31)),
        ("31-January-2028", None, dt.date(2028, 1, 31)),
        ("May 31, 2027", None, dt.date(2027, 5, 31)),
        ("Sept 30 2027", None, dt.date(2027, 9, 30)),
        ("2027/05/31", None, dt.date(2027, 5, 31)),
    ],
)
def test_dates_that_read_one_way_only_are_accepted(
    value: str | dt.date, date_format: str | None, expected: dt.date
) -> None:
    assert parse_date(value, date_format) == expected


@pytest.mark.parametrize(
    ("value", "order", "expected"),
    [
        ("05/31/2027", DateOrder.MONTH_FIRST, dt.date(2027, 5, 31)),
        ("31/05/2027", DateOrder.DAY_FIRST, dt.date(2027, 5, 31)),
        ("31.05.2027", DateOrder.DAY_FIRST, dt.date(2027, 5, 31)),
        ("5-31-27", DateOrder.MONTH_FIRST, dt.date(2027, 5, 31)),
        ("31-May-2027", DateOrder.MONTH_FIRST, dt.date(2027, 5, 31)),
    ],
)
def test_numeric_dates_read_in_the_stated_day_month_order(
    value: str, order: DateOrder, expected: dt.date
) -> None:
    assert parse_date(value, order=order) == expected


@pytest.mark.parametrize(
    ("value", "order", "message"),
    [
        ("31/05/2027", DateOrder.MONTH_FIRST, "Date 31/05/2027 is not a day of the calendar."),
        ("31 Mai 2027", None, "31 Mai 2027 is not a date; write it as 2028-01-31 or 31-JAN-2028."),
        (
            "Q2 2027",
            DateOrder.DAY_FIRST,
            "Date Q2 2027 is not written day/month/year nor 2028-01-31.",
        ),
    ],
)
def test_dates_that_do_not_fit_the_stated_order_are_refused(
    value: str, order: DateOrder | None, message: str
) -> None:
    with pytest.raises(UnreadableDate, match=re.escape(message)):
        parse_date(value, order=order)


def test_kit_list_with_us_numeric_expiry_dates_loads_with_month_first_stated(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _csv(tmp_path, GENERIC + "1001,L1,05/31/2027,A\n1002,L2,31-May-2027,B\n")
    mapping = replace(_mapping(read_table(path)), date_order=DateOrder.MONTH_FIRST)
    assert _import(db, example, unblinded, path, mapping) == ["1001", "1002"]
    with db.read_session() as session:
        assert set(session.scalars(select(Lot.expiry))) == {dt.date(2027, 5, 31)}


@pytest.mark.parametrize(
    ("value", "date_format", "message"),
    [
        ("31.01.2028", None, "Date 31.01.2028 is ambiguous"),
        ("31/01/2028", "%m/%d/%Y", "does not match the date format MM/DD/YYYY"),
        ("", None, "The date is empty"),
        (46000.0, None, "46000 is not a date"),
        ("2028-13-01", None, "is not a day of the calendar"),
    ],
)
def test_dates_that_cannot_be_read_are_refused(
    value: str | float, date_format: str | None, message: str
) -> None:
    with pytest.raises(UnreadableDate, match=message):
        parse_date(value, date_format)


IRWS_TITLES = (
    "Kit Inventory Report,,,\nProtocol ABC-123 - Site 101,,,\nPrinted 2026-11-30 08:14 UTC,,,\n"
)


def test_kit_list_with_title_rows_above_its_header_loads_from_the_header_row(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _csv(tmp_path, IRWS_TITLES + GENERIC + f"1001,L2301,{ISO},A\n1002,L2301,{ISO},B\n")
    table = read_table(path)
    found = guess_header(table, guess_kit_list_mapping)
    assert found is not None
    headed, mapping = found
    assert mapping == KitListMapping("Kit Number", "Lot Number", "Expiry Date", "Treatment")
    assert headed.header_found == "Header found on row 4."
    preview = _preview(db, example, unblinded, path, mapping)
    assert preview.header_line == 4
    assert [(draft.line, draft.kit_number) for draft in preview.to_create] == [
        (5, "1001"),
        (6, "1002"),
    ]
    assert _import(db, example, unblinded, path, mapping) == ["1001", "1002"]


def test_xlsx_kit_list_with_title_rows_finds_its_header(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _xlsx(
        tmp_path,
        [
            ["IWRS data extract"],
            ["ABC-123", "Site 101"],
            [],
            ["Generated", dt.datetime(2026, 11, 30, 8, 14)],
            ["KIT_NO", "LOT", "EXP_DATE", "ARM"],
            [1001, "L1", dt.datetime(2028, 1, 31), "A"],
        ],
    )
    preview = _preview(
        db, example, unblinded, path, KitListMapping("KIT_NO", "LOT", "EXP_DATE", "ARM")
    )
    assert (preview.header_line, preview.errors) == (5, [])
    assert [(draft.line, draft.kit_number, draft.arm_code) for draft in preview.to_create] == [
        (6, "1001", "A")
    ]


def test_a_list_where_no_row_holds_the_mapped_columns_is_refused_in_one_sentence(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _csv(tmp_path, IRWS_TITLES + "Kit,Batch\n1001,L1\n")
    mapping = KitListMapping("Kit Number", "Lot Number", "Expiry Date")
    with pytest.raises(
        KitListRejected,
        match=re.escape(
            "Line 1: No row of kits.csv holds the columns 'Kit Number', 'Lot Number', "
            "'Expiry Date'; choose the columns in the mapping."
        ),
    ):
        _import(db, example, unblinded, path, mapping)
    assert _kit_count(db) == 0


SPELLED = GENERIC + (
    f"1001,L2301,{ISO},Arm A - ABC 10 mg\n"
    f"1002,L2301,{ISO},Arm B - Placebo\n"
    f"1003,L2301,{ISO},arm a -  ABC 10 mg\n"
)
SPELLED_TO_ARMS = KitListMapping(
    "Kit Number",
    "Lot Number",
    "Expiry Date",
    "Treatment",
    treatments=(("Arm A - ABC 10 mg", "A"), ("Arm B - Placebo", "B")),
)


def test_spelled_out_treatments_import_with_their_arms_once_mapped(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _csv(tmp_path, SPELLED)
    table = read_table(path)
    with db.read_session() as session:
        study = session.get_one(Study, example.study.id)
        values = treatment_values(session, unblinded, study, table, _mapping(table))
    assert values == ["Arm A - ABC 10 mg", "Arm B - Placebo"]
    assert _import(db, example, unblinded, path, SPELLED_TO_ARMS) == ["1001", "1002", "1003"]
    with db.read_session() as session:
        arms = dict(session.execute(select(Kit.kit_number, Kit.arm_id)).all())
    assert arms == {
        "1001": example.drug_arm.id,
        "1002": example.placebo_arm.id,
        "1003": example.drug_arm.id,
    }


def test_unmapped_treatment_values_are_refused_by_row(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    path = _csv(tmp_path, SPELLED + f"1004,L2301,{ISO},Arm C - XYZ 5 mg\n")
    preview = _preview(db, example, unblinded, path, SPELLED_TO_ARMS)
    assert [str(error) for error in preview.errors] == [
        "Line 5: Treatment 'Arm C - XYZ 5 mg' is not an arm of ABC-123 (arms: A, B); "
        "map it to an arm in the mapping."
    ]
    unmapped = _preview(db, example, unblinded, path)
    assert [error.line for error in unmapped.errors] == [2, 3, 4, 5]
    with pytest.raises(KitListRejected, match="4 rows of the kit list are wrong"):
        _import(db, example, unblinded, path)
    assert _kit_count(db) == 0


def test_a_mapping_to_an_arm_the_study_lacks_is_refused(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    wrong = replace(SPELLED_TO_ARMS, treatments=(("Arm A - ABC 10 mg", "C"),))
    preview = _preview(db, example, unblinded, _csv(tmp_path, SPELLED), wrong)
    assert str(preview.errors[0]) == (
        "Line 1: The treatment mapping sends 'Arm A - ABC 10 mg' to arm 'C', which is not "
        "an arm of ABC-123 (arms: A, B)."
    )


def test_the_blinded_never_see_the_treatment_values_nor_import_a_treatment_mapping(
    db: Database, example: Example, tmp_path: Path
) -> None:
    path = _csv(tmp_path, SPELLED)
    table = read_table(path)
    tech = example.people.tech
    with db.read_session() as session:
        study = session.get_one(Study, example.study.id)
        with pytest.raises(PermissionDenied, match="only staff unblinded for ABC-123"):
            treatment_values(session, tech, study, table, _mapping(table))
    preview = _preview(db, example, tech, path, SPELLED_TO_ARMS)
    assert not any(ARM_TEXT.search(error.message) for error in preview.errors)
    assert all(draft.arm_code is None for draft in preview.to_create)
    no_column = replace(SPELLED_TO_ARMS, arm=None)
    with pytest.raises(PermissionDenied, match="The treatment mapping names each kit's arm"):
        _import(db, example, tech, path, no_column)
    assert _kit_count(db) == 0


def test_presets_are_guessed_in_the_top_rows_only_while_a_mapping_finds_any_row(
    db: Database, example: Example, unblinded: User, tmp_path: Path
) -> None:
    notes = "".join(f"Note {n}\n" for n in range(60))
    path = _csv(tmp_path, notes + GENERIC + f"1001,L2301,{ISO},A\n")
    assert guess_header(read_table(path), guess_kit_list_mapping) is None
    mapping = KitListMapping("Kit Number", "Lot Number", "Expiry Date", "Treatment")
    assert _preview(db, example, unblinded, path, mapping).header_line == 61
