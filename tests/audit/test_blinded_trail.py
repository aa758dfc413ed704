"""The audit trail as a blinded user reads it: arm names are masked in what people typed
(a reason, a note, a hold's details), not only in the arm fields; the product's strength
wording stays readable; an unblinded user reads every word as written."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ids_app.audit.trail import Actor, record_event
from ids_app.audit.views import (
    HIDDEN_FOR_BLINDING,
    AuditFilter,
    AuditRow,
    BlindingRedactor,
    audit_page,
)
from ids_app.db import Database
from ids_app.inventory.counts import CountedLine, record_count, resolve_discrepancy
from ids_app.inventory.models import Discrepancy, HoldReason, Kit, Location, StockState
from ids_app.inventory.quarantine import quarantine_stock
from ids_app.studies.blinding import ARM_HIDDEN
from ids_app.studies.models import Blinding, Study
from ids_app.studies.services import add_arm, add_staff, create_study
from ids_app.users.models import User
from tests.factories import PASSWORD, Example, make_example, receive_kits

# ABC-123's arms are "ABC 10 mg" and "Placebo"; its product is "ABC-123 10 mg or placebo".
HOLD_DETAILS = "Cap cracked on the shelf; the IWRS note says this kit is Placebo"
SHIPMENT_NOTE = "Two ABC 10 mg kits arrived with torn labels"
RESOLUTION = "Kit found behind the placebo kits in the fridge"
MASKED_DETAILS = f"Cap cracked on the shelf; the IWRS note says this kit is {ARM_HIDDEN}"


@pytest.fixture
def example(db: Database) -> Example:
    """ABC-123 with its kits received under a note naming an arm; Sam Lee (pharm2) is
    unblinded on it, Jane Roe (pharm) is on its staff blinded."""
    example = make_example(db)
    receive_kits(db, example, notes=SHIPMENT_NOTE)
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
    return example


def _trail(db: Database, reader: User, study_id: int | None = None) -> list[AuditRow]:
    """The whole trail (or one study's), as ``reader`` is shown it."""
    with db.read_session() as session:
        rows = audit_page(session, AuditFilter(study_id=study_id), reader=reader, limit=10_000)
        return BlindingRedactor(session, reader).redact(session, rows)


def _texts(rows: list[AuditRow]) -> str:
    return "\n".join(
        value for row in rows for value in (row.old_value, row.new_value, row.reason) if value
    )


def _quarantine(db: Database, example: Example, kit_number: str) -> None:
    with db.unit_of_work() as session:
        kit = session.scalars(select(Kit).where(Kit.kit_number == kit_number)).one()
        quarantine_stock(
            session,
            example.people.pharm,
            session.get_one(Study, example.study.id),
            reason=HoldReason.DAMAGE,
            details=HOLD_DETAILS,
            kit=kit,
        )


def test_a_reason_and_a_hold_naming_an_arm_are_masked_for_a_blinded_user(
    db: Database, example: Example
) -> None:
    _quarantine(db, example, "1007")
    blinded = _trail(db, example.people.pharm, example.study.id)
    reasons = [row.reason for row in blinded if row.table_name == "ledger_entry" and row.reason]
    assert f"quarantined: {MASKED_DETAILS}" in reasons
    holds = [row for row in blinded if row.table_name == "quarantine_hold"]
    assert holds
    assert all(MASKED_DETAILS in (row.new_value or "") for row in holds)
    assert "Placebo" not in _texts(blinded)

    unblinded = _trail(db, example.people.pharm2, example.study.id)
    assert f"quarantined: {HOLD_DETAILS}" in [row.reason for row in unblinded]
    assert HOLD_DETAILS in _texts([r for r in unblinded if r.table_name == "quarantine_hold"])


def test_a_note_naming_an_arm_is_masked_for_a_blinded_user(db: Database, example: Example) -> None:
    (shipment,) = [row for row in _trail(db, example.people.pharm) if row.table_name == "shipment"]
    assert f"Two {ARM_HIDDEN} kits arrived with torn labels" in (shipment.new_value or "")
    assert "ABC 10 mg" not in (shipment.new_value or "")

    (shown,) = [row for row in _trail(db, example.people.pharm2) if row.table_name == "shipment"]
    assert SHIPMENT_NOTE in (shown.new_value or "")


def test_a_text_field_changed_to_name_an_arm_is_masked_in_its_old_and_new_value(
    db: Database, example: Example
) -> None:
    with db.unit_of_work() as session:
        kit = session.scalars(select(Kit).where(Kit.kit_number == "1001")).one()
        record_count(  # kit 1002 and the others are missing: discrepancies
            session,
            example.people.pharm,
            session.get_one(Study, example.study.id),
            session.get_one(Location, example.shelf.id),
            [CountedLine(kit.lot_id, kit.id, StockState.AVAILABLE, 1)],
        )
    with db.unit_of_work() as session:
        discrepancy = session.scalars(select(Discrepancy).order_by(Discrepancy.id)).first()
        assert discrepancy is not None
        resolve_discrepancy(session, example.people.pharm, discrepancy, RESOLUTION, PASSWORD)

    def resolutions(reader: User) -> list[AuditRow]:
        rows = _trail(db, reader, example.study.id)
        return [r for r in rows if r.table_name == "discrepancy" and r.field == "resolution"]

    (masked,) = resolutions(example.people.pharm)
    assert masked.new_value == f"Kit found behind the {ARM_HIDDEN} kits in the fridge"
    assert masked.reason == masked.new_value
    (shown,) = resolutions(example.people.pharm2)
    assert shown.new_value == RESOLUTION
    assert shown.reason == RESOLUTION


def test_the_products_strength_wording_stays_readable_to_a_blinded_user(
    db: Database, example: Example
) -> None:
    blinded = _trail(db, example.people.pharm, example.study.id)
    (product,) = [r for r in blinded if r.table_name == "product" and r.action == "insert"]
    assert '"strength": "10 mg or placebo"' in (product.new_value or "")
    # The arms themselves are still hidden whole, as before.
    arms = [r.new_value for r in blinded if r.table_name == "arm"]
    assert arms
    assert set(arms) == {HIDDEN_FOR_BLINDING}
    assert "ABC 10 mg" not in _texts(blinded)
    assert "Placebo" not in _texts(blinded)


def test_an_entry_of_no_study_is_masked_with_the_arms_of_every_study_the_user_is_blinded_on(
    db: Database, example: Example
) -> None:
    actor = Actor(example.people.admin.id, example.people.admin.username)
    with db.unit_of_work() as session:
        record_event(
            session,
            actor,
            "copied_in",
            table_name="database",
            reason="Restored after the Placebo kit mix-up (labels read 10 mg or placebo)",
        )

    def restore(reader: User) -> AuditRow:
        (row,) = [r for r in _trail(db, reader) if r.action == "copied_in"]
        assert row.study_id is None
        return row

    assert restore(example.people.pharm).reason == (
        f"Restored after the {ARM_HIDDEN} kit mix-up (labels read 10 mg or placebo)"
    )
    assert restore(example.people.pharm2).reason == (
        "Restored after the Placebo kit mix-up (labels read 10 mg or placebo)"
    )


def test_a_study_the_user_may_see_arms_of_keeps_its_words_as_typed(
    db: Database, example: Example
) -> None:
    with db.unit_of_work() as session:
        study = create_study(
            session,
            example.people.tech,
            protocol_number="OPEN-1",
            title="An open-label study of XYZ",
            sponsor="Acme Pharma",
            principal_investigator="Dr. Pat Investigator",
            blinding=Blinding.OPEN_LABEL,
        )
        add_arm(session, example.people.tech, study, "P", "Placebo")
        open_id = study.id
    # Jane Roe is blinded on ABC-123, whose arm is also "Placebo"; OPEN-1 hides nothing.
    (arm,) = [r for r in _trail(db, example.people.pharm, open_id) if r.table_name == "arm"]
    assert '"name": "Placebo"' in (arm.new_value or "")
