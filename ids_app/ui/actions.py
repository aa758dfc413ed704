"""The app's actions, listed once, as data: an id, a title, a shortcut, who may use it.

The main window turns each into a QAction (tests trigger them by id). Who may do what is
taken from the services' own role lists, so the UI hides what a role cannot do and the
service still decides (DESIGN.md: "Enforced in the services; the UI only hides").
"""

from __future__ import annotations

from dataclasses import dataclass

from ids_app.inventory.counts import COUNT_ROLES
from ids_app.inventory.dispensing import ORDER_ROLES
from ids_app.inventory.disposal import DISPOSAL_ROLES
from ids_app.inventory.quarantine import QUARANTINE_ROLES
from ids_app.inventory.receiving import RECEIVING_ROLES
from ids_app.inventory.returns import RETURN_ROLES
from ids_app.inventory.transfers import TRANSFER_ROLES
from ids_app.storage.transit import TRANSIT_LOG_ROLES
from ids_app.studies.services import SETUP_ROLES
from ids_app.users.models import Role, User

EVERYONE = frozenset(Role)
PHARMACIST_ONLY = frozenset({Role.PHARMACIST})

# What each control needs. Where a service checks a single role inline (verify_order,
# decide_hold, resolve_discrepancy, transfer_to_study, verify_return, verify_disposal), that
# role is named.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "order": frozenset(ORDER_ROLES),
    "prepare": frozenset(ORDER_ROLES),
    "cancel_order": frozenset(ORDER_ROLES),
    "verify_order": PHARMACIST_ONLY,
    "reject_order": PHARMACIST_ONLY,
    # reports.labels.LABEL_ROLES: technicians and pharmacists print dispensing labels.
    "print_label": frozenset({Role.TECHNICIAN, Role.PHARMACIST}),
    "receive": frozenset(RECEIVING_ROLES),
    "attach_transit_log": frozenset(TRANSIT_LOG_ROLES),
    "record_return": frozenset(RETURN_ROLES),
    "verify_return": frozenset({Role.MONITOR}),
    "quarantine": frozenset(QUARANTINE_ROLES),
    "decide_hold": PHARMACIST_ONLY,
    "dispose": frozenset(DISPOSAL_ROLES),
    "verify_disposal": frozenset({Role.MONITOR}),
    # Monitor mode is read-only except verifying returns (the desktop issue's brief), so the
    # monitor's count (which counts.COUNT_ROLES allows) is not offered on screen.
    "count": frozenset(COUNT_ROLES) - {Role.MONITOR},
    "resolve_discrepancy": PHARMACIST_ONLY,
    "transfer": frozenset(TRANSFER_ROLES),
    "transfer_to_study": PHARMACIST_ONLY,
}


def can(user: User, permission: str) -> bool:
    return user.role in PERMISSIONS[permission]


@dataclass(frozen=True)
class ActionSpec:
    id: str
    title: str
    menu: str
    shortcut: str | None = None
    roles: frozenset[Role] = EVERYONE
    tip: str = ""


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("study.new", "New study…", "work", "Ctrl+Shift+N", roles=frozenset(SETUP_ROLES)),
    ActionSpec("file.settings", "Settings…", "file", "Ctrl+,"),
    ActionSpec("file.lock", "Lock the window", "file", "Ctrl+Shift+L"),
    ActionSpec("file.change_password", "Change password…", "file"),
    ActionSpec("file.sign_out", "Sign out", "file", "Ctrl+Shift+O"),
    ActionSpec("file.quit", "Quit", "file", "Ctrl+Q"),
    ActionSpec("view.my_work", "My work", "view", "Ctrl+1", tip="What waits for you"),
    ActionSpec("view.overview", "Overview", "view", "Ctrl+2"),
    ActionSpec("view.inventory", "Inventory", "view", "Ctrl+Shift+I"),
    ActionSpec("view.setup", "Setup", "view", "Ctrl+Shift+S"),
    ActionSpec("view.dispensing", "Dispensing", "view", "Ctrl+3"),
    ActionSpec("view.receiving", "Receiving", "view", "Ctrl+4"),
    ActionSpec("view.returns", "Returns", "view", "Ctrl+5"),
    ActionSpec("view.quarantine", "Quarantine", "view", "Ctrl+6"),
    ActionSpec("view.destruction", "Destruction", "view", "Ctrl+7"),
    ActionSpec("view.counts", "Counts", "view", "Ctrl+8"),
    ActionSpec("view.transfers", "Transfers", "view", "Ctrl+9"),
    ActionSpec("view.temperature", "Temperature", "view", "Ctrl+Shift+T"),
    ActionSpec("view.monitoring", "Monitoring", "view", "Ctrl+Shift+M"),
    ActionSpec("view.reports", "Reports", "view", "Ctrl+Shift+R"),
    ActionSpec("view.study_audit", "This study's audit trail", "view", "Ctrl+Shift+A"),
    ActionSpec("view.audit", "Audit trail", "view", "Ctrl+0"),
    ActionSpec("view.find_study", "Find a study", "view", "Ctrl+F"),
    ActionSpec("view.refresh", "Refresh", "view", "F5"),
    ActionSpec(
        "work.new_order",
        "New dispense order…",
        "work",
        "Ctrl+N",
        roles=PERMISSIONS["order"],
    ),
    ActionSpec("work.scan", "Go to the scan field", "work", "F2"),
    ActionSpec(
        "work.downtime",
        "Enter a downtime's paper log…",
        "work",
        roles=PERMISSIONS["prepare"],
        tip="Dispenses done on paper while the system was down, as late entries",
    ),
    ActionSpec("help.about", "About IDS Accountability", "help"),
)

MENUS = (("file", "&File"), ("view", "&View"), ("work", "&Work"), ("help", "&Help"))

# The workspace tabs in order, with the view action that shows each.
STUDY_TABS = (
    ("overview", "Overview"),
    ("inventory", "Inventory"),
    ("setup", "Setup"),
    ("dispensing", "Dispensing"),
    ("receiving", "Receiving"),
    ("returns", "Returns"),
    ("quarantine", "Quarantine"),
    ("destruction", "Destruction"),
    ("counts", "Counts"),
    ("transfers", "Transfers"),
    ("temperature", "Temperature"),
    ("monitoring", "Monitoring"),
    ("reports", "Reports"),
    ("study_audit", "Audit trail"),
)


def actions_for(user: User) -> list[ActionSpec]:
    """The actions this user's role may see; the others are absent from the menus."""
    return [spec for spec in ACTIONS if user.role in spec.roles]
