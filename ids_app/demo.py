"""The demo database: seed users for each role and two studies, built through the services.

Demo passwords are printed in the README; they are for trying the app, never for a
pharmacy's records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ids_app.db import Database, simulated_clock
from ids_app.demo_history import build_history, history_start
from ids_app.errors import DatabaseProblem
from ids_app.users.models import Role, User
from ids_app.users.services import (
    add_user,
    change_password,
    create_first_administrator,
    needs_first_administrator,
    sign_in,
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: Role
    password: str


DEMO_ADMIN = DemoUser("admin", "Alex Admin", Role.ADMINISTRATOR, "demo-admin")
DEMO_USERS = (
    DemoUser("tech", "Terry Tech", Role.TECHNICIAN, "demo-tech"),
    DemoUser("pharm", "Jane Roe", Role.PHARMACIST, "demo-pharm"),
    DemoUser("pharm2", "Sam Lee", Role.PHARMACIST, "demo-pharm2"),
    DemoUser("monitor", "Morgan Monitor", Role.MONITOR, "demo-monitor"),
)
TEMPORARY_PASSWORD = "temporary-1"


def build_demo(db: Database) -> list[DemoUser]:
    """Fill an empty database with the demo's people; refuse one that has data."""
    with db.read_session() as session:
        if not needs_first_administrator(session):
            raise DatabaseProblem(
                f"{db.description} already has users; the demo is built only in an empty database."
            )
    # The people join the day before the history starts, so the trail reads in time order.
    with simulated_clock(history_start() - dt.timedelta(days=1)):
        with db.unit_of_work() as session:
            create_first_administrator(
                session, DEMO_ADMIN.username, DEMO_ADMIN.full_name, DEMO_ADMIN.password
            )
        for person in DEMO_USERS:
            _add_demo_user(db, person)
    people = [DEMO_ADMIN, *DEMO_USERS]
    build_history(db, {person.username: person.password for person in people})
    return people


def _add_demo_user(db: Database, person: DemoUser) -> User:
    with db.unit_of_work() as session:
        admin = sign_in(session, DEMO_ADMIN.username, DEMO_ADMIN.password)
        add_user(session, admin, person.username, person.full_name, person.role, TEMPORARY_PASSWORD)
    with db.unit_of_work() as session:
        user = sign_in(session, person.username, TEMPORARY_PASSWORD)
        return change_password(session, user, TEMPORARY_PASSWORD, person.password)
