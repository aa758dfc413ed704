"""Study setup through the services: lifecycle, products, staff, subjects."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ids_app.audit.models import AuditEntry
from ids_app.db import Database
from ids_app.errors import InvalidInput, PermissionDenied
from ids_app.studies.models import Blinding, ProductRole, Study, StudyStatus, Tracking
from ids_app.studies.services import (
    add_product,
    add_subject,
    change_study_status,
    create_study,
    is_unblinded,
)
from ids_app.studies.views import product_rows
from tests.factories import Example, make_example, make_people


@pytest.fixture
def example(db: Database) -> Example:
    return make_example(db)


def test_protocol_number_is_unique(db: Database, example: Example) -> None:
    with pytest.raises(InvalidInput, match="already exists"), db.unit_of_work() as session:
        create_study(
            session,
            example.people.tech,
            protocol_number="ABC-123",
            title="t",
            sponsor="s",
            principal_investigator="p",
            blinding=Blinding.OPEN_LABEL,
        )


def test_status_change_is_audited_with_its_reason(db: Database, example: Example) -> None:
    with db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        change_study_status(session, example.people.pharm, study, StudyStatus.ON_HOLD, "DSMB pause")
    with db.read_session() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.table_name == "study", AuditEntry.field == "status")
        ).all()[-1]
    assert (entry.old_value, entry.new_value, entry.reason) == ("open", "on hold", "DSMB pause")


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([StudyStatus.ON_HOLD, StudyStatus.OPEN, StudyStatus.CLOSED_TO_ACCRUAL], StudyStatus.OPEN),
        ([StudyStatus.CLOSED_TO_ACCRUAL, StudyStatus.CLOSED], StudyStatus.OPEN),
        ([], StudyStatus.PENDING),
    ],
)
def test_status_follows_the_lifecycle(
    db: Database, example: Example, path: list[StudyStatus], refused: StudyStatus
) -> None:
    for status in path:
        with db.unit_of_work() as session:
            study = session.get_one(Study, example.study.id)
            change_study_status(session, example.people.pharm, study, status, "as planned")
    with pytest.raises(InvalidInput, match="cannot become"), db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        change_study_status(session, example.people.pharm, study, refused, "try")


def test_status_change_needs_a_reason(db: Database, example: Example) -> None:
    with pytest.raises(InvalidInput, match="reason"), db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        change_study_status(session, example.people.pharm, study, StudyStatus.ON_HOLD, "  ")


def test_technician_cannot_change_study_status(db: Database, example: Example) -> None:
    with pytest.raises(PermissionDenied), db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        change_study_status(session, example.people.tech, study, StudyStatus.ON_HOLD, "x")


def test_monitor_cannot_set_up_a_study(db: Database) -> None:
    people = make_people(db)
    with pytest.raises(PermissionDenied, match="you are signed in as a monitor"):
        with db.unit_of_work() as session:
            create_study(
                session,
                people.monitor,
                protocol_number="X-1",
                title="t",
                sponsor="s",
                principal_investigator="p",
                blinding=Blinding.OPEN_LABEL,
            )


def test_kit_tracked_product_needs_units_per_kit(db: Database, example: Example) -> None:
    with pytest.raises(InvalidInput, match="units in each kit"), db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        add_product(
            session,
            example.people.tech,
            study,
            agent_name="X",
            strength="1 mg",
            dosage_form="tablet",
            unit="kit",
            role=ProductRole.ACTIVE,
            tracking=Tracking.KIT,
            storage_min_c=2,
            storage_max_c=8,
            dispense_quantity=1,
            days_supply=28,
            doses_per_day=1,
        )


def test_subject_id_is_unique_within_a_study(db: Database, example: Example) -> None:
    with pytest.raises(InvalidInput, match="already registered"), db.unit_of_work() as session:
        study = session.get_one(Study, example.study.id)
        add_subject(session, example.people.tech, study, "01-004", "AB")


def test_unblinded_access_is_granted_per_study(db: Database, example: Example) -> None:
    with db.read_session() as session:
        study = session.get_one(Study, example.study.id)
        assert not is_unblinded(session, example.people.pharm, study)
        assert not is_unblinded(session, example.people.monitor, study)


def test_a_products_dispensing_rule_reads_in_the_plural_of_its_units(
    db: Database, example: Example
) -> None:
    with db.read_session() as session:
        (row,) = product_rows(session, example.study.id)
    assert row.rule == "1 kit of 30 tablets per visit, 28 days' supply"
