"""The main window: studies on the left, My work / a study's workspace / the audit trail on
the right, the menus built from the action list, the idle lock, and a recorded sign-out.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QWidget,
)

from ids_app import __version__
from ids_app.db import Database
from ids_app.inventory.models import HoldReason
from ids_app.ui.actions import ACTIONS, MENUS, STUDY_TABS, ActionSpec, actions_for
from ids_app.ui.app import APP_TITLE
from ids_app.ui.audit_viewer import AuditTrailPage, StudyAuditTab
from ids_app.ui.context import Workspace
from ids_app.ui.counts import CountsTab
from ids_app.ui.destruction import DestructionTab
from ids_app.ui.dispensing import DispensingTab
from ids_app.ui.downtime import DowntimeDialog
from ids_app.ui.forms import open_dialog
from ids_app.ui.guard import show_message
from ids_app.ui.idle_lock import IdleWatcher, LockScreen
from ids_app.ui.inventory import InventoryTab
from ids_app.ui.monitoring import MonitoringTab
from ids_app.ui.my_work import MyWorkPage
from ids_app.ui.overview import OverviewTab
from ids_app.ui.quarantine import QuarantineTab
from ids_app.ui.receiving import ReceivingTab
from ids_app.ui.reports_tab import ReportsTab
from ids_app.ui.returns import ReturnsTab
from ids_app.ui.settings import AppSettings
from ids_app.ui.setup_dialogs import open_new_study
from ids_app.ui.setup_tab import SetupTab
from ids_app.ui.sign_in import ChangePasswordDialog, sign_out
from ids_app.ui.study_list import StudyListPanel
from ids_app.ui.study_tab import StudyTab
from ids_app.ui.temperature_tab import TemperatureTab
from ids_app.ui.transfers import TransfersTab
from ids_app.ui.workspace import Section, StudyWorkspace
from ids_app.users.models import User
from ids_app.work.day_list import WorkItem

DEFAULT_SIZE = (1280, 800)
STUDY_LIST_WIDTH = 300


def with_mnemonics(titles: list[str]) -> list[str]:
    """The titles of one menu, each with its own Alt key: the first letter of a word where
    it can be ("&Sign out"), else another of its letters ("R&eturns").

    Letters are matched to titles by augmenting paths (Kuhn's algorithm), so every title
    gets a key whenever the menu's letters allow it, not only those listed first.
    """

    def candidates(title: str) -> list[int]:
        letters = [i for i, char in enumerate(title) if char.isalpha()]
        initials = [i for i in letters if i == 0 or title[i - 1] == " "]
        return initials + [i for i in letters if i not in initials]

    owner: dict[str, tuple[int, int]] = {}  # letter -> (title number, position)
    fixed = {t[t.index("&") + 1].lower() for t in titles if "&" in t}

    def assign(number: int, seen: set[str]) -> bool:
        """A free letter of the title if it has one, else one freed by moving its owner."""
        title = titles[number]
        options = [(i, title[i].lower()) for i in candidates(title)]
        options = [(i, letter) for i, letter in options if letter not in fixed | seen]
        for i, letter in options:
            if letter not in owner:
                owner[letter] = (number, i)
                return True
        for i, letter in options:
            seen.add(letter)
            if assign(owner[letter][0], seen):
                owner[letter] = (number, i)
                return True
        return False

    for number, title in enumerate(titles):
        if "&" not in title:
            assign(number, set())
    chosen = {number: i for number, i in owner.values()}
    return [
        f"{title[: chosen[n]]}&{title[chosen[n] :]}" if n in chosen else title
        for n, title in enumerate(titles)
    ]


STUDY_TAB_KEYS = frozenset(key for key, _title in STUDY_TABS)


def _section_shortcuts() -> dict[str, str]:
    """Each workflow's shortcut, shown in the workspace list's tooltips."""
    return {
        spec.id.removeprefix("view."): spec.shortcut
        for spec in ACTIONS
        if spec.id.removeprefix("view.") in STUDY_TAB_KEYS and spec.shortcut
    }


class MainWindow(QMainWindow):
    """One signed-in person's window; it always ends with a recorded sign-out.

    ``signed_out`` asks the shell for the next sign-in; ``quit_requested`` ends the app.
    """

    signed_out = Signal()
    quit_requested = Signal()
    locked = Signal()
    unlocked = Signal()

    def __init__(
        self,
        db: Database,
        user: User,
        parent: QWidget | None = None,
        *,
        settings: AppSettings | None = None,
    ) -> None:
        super().__init__(parent)
        self.db = db
        self.user = user
        self.settings = settings or AppSettings()
        self.ws = Workspace(db, user, self.settings, self)
        self.change_password_dialog: ChangePasswordDialog | None = None
        self.settings_dialog: QDialog | None = None
        self._session_open = True
        self._switching_user = False
        self.is_locked = False
        self._hidden_dialogs: list[QDialog] = []
        self._focus_before_lock: QWidget | None = None

        self.setObjectName("mainWindow")
        self._set_title()
        self.resize(*DEFAULT_SIZE)

        self.study_list = StudyListPanel(self.ws)
        self.my_work = MyWorkPage(self.ws)
        self.workspace = StudyWorkspace(
            self.ws, self._sections(), _section_shortcuts(), built=self._section_built
        )
        self.pages = QStackedWidget()
        self.pages.setObjectName("pages")
        self.pages.addWidget(self.my_work)
        self.pages.addWidget(self.workspace)
        self.audit_page: AuditTrailPage | None = self._build_audit_page()
        if self.audit_page is not None:
            self.pages.addWidget(self.audit_page)
        else:
            self.study_list.audit_button.hide()

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.study_list)
        self.splitter.addWidget(self.pages)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([STUDY_LIST_WIDTH, DEFAULT_SIZE[0] - STUDY_LIST_WIDTH])

        self.lock_screen = LockScreen(db, user)
        self.lock_screen.unlocked.connect(self._unlocked)
        self.lock_screen.sign_out_requested.connect(self.sign_out)
        self.central_stack = QStackedWidget()
        self.central_stack.addWidget(self.splitter)
        self.central_stack.addWidget(self.lock_screen)
        self.setCentralWidget(self.central_stack)

        self.actions_by_id: dict[str, QAction] = {}
        self._build_menus()
        self.signed_in_label = QLabel(f"Signed in as {user.full_name} ({user.role.label})")
        self.signed_in_label.setContentsMargins(8, 2, 8, 2)
        self.site_label = QLabel(self.settings.site_name)
        self.statusBar().addWidget(self.signed_in_label)
        self.statusBar().addPermanentWidget(self.site_label)

        self.ws.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.ws.records_changed.connect(self._records_changed)
        self.study_list.study_chosen.connect(lambda study_id: self.open_study(study_id))
        self.study_list.my_work_chosen.connect(self.show_my_work)
        self.study_list.audit_chosen.connect(self.show_audit)
        self.my_work.open_item.connect(self.open_work_item)

        self.idle = IdleWatcher(self.settings.idle_minutes * 60_000, self)
        self.idle.idle.connect(self._idle)

        self.study_list.load()
        self.show_my_work()
        self._restore_geometry()
        self.idle.start()

    # building ------------------------------------------------------------------------------

    def _sections(self) -> list[Section]:
        """The workflows, in STUDY_TABS order; each screen is built when first shown."""
        screens: dict[str, Callable[[Workspace], StudyTab]] = {
            "overview": OverviewTab,
            "inventory": InventoryTab,
            "setup": SetupTab,
            "dispensing": DispensingTab,
            "receiving": ReceivingTab,
            "returns": ReturnsTab,
            "quarantine": QuarantineTab,
            "destruction": DestructionTab,
            "counts": CountsTab,
            "transfers": TransfersTab,
            "temperature": TemperatureTab,
            "monitoring": MonitoringTab,
            "reports": ReportsTab,
            "study_audit": StudyAuditTab,
        }
        return [
            Section(key, title, partial(screens[key], self.ws))
            for key, title in STUDY_TABS
            if key in screens
        ]

    def _section_built(self, tab: StudyTab) -> None:
        if isinstance(tab, OverviewTab):
            tab.open_order.connect(lambda order_id: self._open_record("dispensing", order_id))
            tab.open_tab.connect(self.show_tab)
        if isinstance(tab, InventoryTab):
            tab.hold_requested.connect(self._hold_from_inventory)
            tab.destroy_requested.connect(self._destroy_from_inventory)

    def _hold_from_inventory(self, kit_number: str, details: str) -> None:
        tab = self.show_tab("quarantine")
        if isinstance(tab, QuarantineTab):
            tab.prepare_hold(kit_number, HoldReason.EXPIRY, details)

    def _destroy_from_inventory(self, kit_number: str) -> None:
        tab = self.show_tab("destruction")
        if isinstance(tab, DestructionTab) and not tab.choose_kit(kit_number):
            self.statusBar().showMessage(f"Kit {kit_number} may not be destroyed now.", 5000)

    def _build_audit_page(self) -> AuditTrailPage | None:
        return AuditTrailPage(self.ws)

    def _handlers(self) -> dict[str, Callable[[], object]]:
        handlers: dict[str, Callable[[], object]] = {
            "study.new": lambda: open_new_study(self.ws, self),
            "file.settings": self.open_settings,
            "file.lock": lambda: self.lock("Locked by you."),
            "file.change_password": self.open_change_password,
            "file.sign_out": self.sign_out,
            "file.quit": self.close,
            "view.my_work": self.show_my_work,
            "view.audit": self.show_audit,
            "view.find_study": self.find_study,
            "view.refresh": self.refresh,
            "work.new_order": self.new_order,
            "work.scan": self.focus_scan,
            "work.downtime": self.open_downtime,
            "help.about": self.show_about,
        }
        for key in STUDY_TAB_KEYS:
            handlers[f"view.{key}"] = partial(self.show_tab, key)
        return handlers

    def _offered(self, spec: ActionSpec, shown: set[str]) -> bool:
        """Whether the window offers an action: not for a workflow it does not show."""
        tab_key = spec.id.removeprefix("view.")
        if tab_key in STUDY_TAB_KEYS and tab_key not in shown:
            return False
        if spec.id == "view.audit" and self.audit_page is None:
            return False
        return not (spec.id == "work.new_order" and "dispensing" not in shown)

    def _build_menus(self) -> None:
        handlers = self._handlers()
        menus = {key: self.menuBar().addMenu(title) for key, title in MENUS}
        shown = set(self.workspace.keys)
        specs = [spec for spec in actions_for(self.user) if self._offered(spec, shown)]
        titles: dict[str, str] = {}
        for key, _title in MENUS:
            in_menu = [spec for spec in specs if spec.menu == key]
            titles.update(
                zip(
                    (spec.id for spec in in_menu),
                    with_mnemonics([spec.title for spec in in_menu]),
                    strict=True,
                )
            )
        for spec in specs:
            action = QAction(titles[spec.id], self)
            action.setObjectName(spec.id)
            if spec.shortcut:
                action.setShortcut(QKeySequence(spec.shortcut))
            if spec.tip:
                action.setStatusTip(spec.tip)
            action.triggered.connect(lambda _checked=False, run=handlers[spec.id]: run())
            menus[spec.menu].addAction(action)
            self.addAction(action)  # shortcuts work wherever the focus is in the window
            self.actions_by_id[spec.id] = action
            if spec.id == "file.change_password":
                menus["file"].insertSeparator(action)
            if spec.id == "file.quit":
                menus["file"].insertSeparator(action)
        for key, menu in menus.items():
            if menu.isEmpty():
                self.menuBar().removeAction(menu.menuAction())
            setattr(self, f"{key}_menu", menu)
        self.change_password_action = self.actions_by_id["file.change_password"]
        self.sign_out_action = self.actions_by_id["file.sign_out"]
        self.quit_action = self.actions_by_id["file.quit"]
        self.about_action = self.actions_by_id["help.about"]

    def trigger(self, action_id: str) -> None:
        """Run an action by its id, as its menu item or shortcut would."""
        self.actions_by_id[action_id].trigger()

    def _set_title(self) -> None:
        site = self.settings.site_name
        where = f" — {site}" if site else ""
        self.setWindowTitle(f"{APP_TITLE}{where} — {self.db.description}")

    # navigation ----------------------------------------------------------------------------

    def show_my_work(self) -> None:
        self.show_study_list(True)
        self.pages.setCurrentWidget(self.my_work)
        self.my_work.reload()
        self.my_work.take_focus()

    def show_audit(self) -> None:
        if self.audit_page is not None:
            self.show_study_list(True)
            self.pages.setCurrentWidget(self.audit_page)
            self.audit_page.load()

    def show_study_list(self, shown: bool) -> None:
        """Fold the study list away while a study is open, so its workflow has the width
        (at 1280 px or at 200 % scale); My work, the audit trail and Ctrl+F unfold it."""
        sizes = self.splitter.sizes()
        total = sum(sizes)
        if shown and sizes[0] == 0:
            left = min(STUDY_LIST_WIDTH, total // 3)
            self.splitter.setSizes([left, total - left])
        elif not shown and sizes[0] > 0:
            self.splitter.setSizes([0, total])

    def open_study(self, study_id: int, tab: str = "", record_id: int = 0) -> bool:
        if not self.workspace.open_study(study_id):
            return False
        self.study_list.select(study_id)
        self.pages.setCurrentWidget(self.workspace)
        self.show_study_list(False)
        if tab:
            self._open_record(tab, record_id)
        else:
            self.workspace.sections.setFocus(Qt.FocusReason.OtherFocusReason)
        return True

    def open_work_item(self, item: WorkItem) -> None:
        """Open where a My work item is done: its study (for what belongs to no one study,
        the one open now, else the first listed), its workflow, its record."""
        study_id = item.study_id
        if study_id is None:
            current = self.workspace.study
            study_id = current.id if current else next(iter(self.study_list.study_ids()), None)
        if study_id is None or not self.open_study(study_id):
            return
        tab = self.show_tab(item.tab)
        if tab is not None:
            tab.select_work(item.record, item.record_id)

    def _open_record(self, tab_key: str, record_id: int) -> None:
        tab = self.show_tab(tab_key)
        if tab is not None and record_id:
            tab.select_record(record_id)

    def show_tab(self, key: str) -> StudyTab | None:
        """Show a workflow of the open study with the cursor in its scan field or its first
        field, never left behind in the study list."""
        if self.workspace.study is None:
            self.statusBar().showMessage("Choose a study first (Ctrl+F finds one).", 5000)
            self.find_study()
            return None
        self.pages.setCurrentWidget(self.workspace)
        self.show_study_list(False)
        tab = self.workspace.show_tab(key)
        if tab is not None:
            tab.take_focus()
        return tab

    def find_study(self) -> None:
        self.show_study_list(True)
        self.study_list.text_filter.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.study_list.text_filter.selectAll()

    def focus_scan(self) -> None:
        tab = self.workspace.current_tab() if self.pages.currentWidget() is self.workspace else None
        if tab is None or not tab.focus_scan():
            self.statusBar().showMessage("This screen has no scan field.", 4000)

    def new_order(self) -> None:
        tab = self.show_tab("dispensing")
        opener = getattr(tab, "new_order", None)
        if callable(opener):
            opener()

    def open_downtime(self) -> DowntimeDialog | None:
        """The downtime form for the open study: the paper log's dispenses, entered late."""
        study = self.workspace.study
        if study is None:
            self.statusBar().showMessage("Choose a study first (Ctrl+F finds one).", 5000)
            self.find_study()
            return None
        dialog = DowntimeDialog(self.db, self.user, study.id, parent=self)
        dialog.accepted.connect(self.ws.records_changed.emit)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self.downtime_dialog = dialog
        return dialog

    def refresh(self) -> None:
        self.study_list.reload()
        self.ws.records_changed.emit()
        if self.pages.currentWidget() is self.my_work:
            self.my_work.reload()

    def _records_changed(self) -> None:
        if self.pages.currentWidget() is self.my_work:
            self.my_work.reload()

    # dialogs -------------------------------------------------------------------------------

    def open_change_password(self) -> None:
        dialog = ChangePasswordDialog(self.db, self.user, required=False, parent=self)
        dialog.accepted.connect(lambda: self._password_changed(dialog))
        dialog.finished.connect(dialog.deleteLater)
        self.change_password_dialog = dialog
        open_dialog(dialog)

    def _password_changed(self, dialog: ChangePasswordDialog) -> None:
        self.user = dialog.user
        self.statusBar().showMessage("Your password was changed.", 5000)

    def open_settings(self) -> None:
        from ids_app.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.db, self.settings, parent=self)
        dialog.accepted.connect(self.apply_settings)
        dialog.finished.connect(dialog.deleteLater)
        self.settings_dialog = dialog
        open_dialog(dialog)

    def apply_settings(self) -> None:
        self.idle.set_interval(self.settings.idle_minutes * 60_000)
        self.site_label.setText(self.settings.site_name)
        self._set_title()
        self.ws.records_changed.emit()
        self.statusBar().showMessage("Settings saved.", 5000)

    def show_about(self) -> None:
        show_message(
            self,
            f"About {APP_TITLE}",
            f"<b>{APP_TITLE}</b> {__version__}<p>Drug accountability for an "
            "Investigational Drug Service: ledger, signatures, audit trail, binders.</p>",
            QMessageBox.Icon.Information,
        )

    # idle lock -----------------------------------------------------------------------------

    def _idle(self) -> None:
        minutes = self.settings.idle_minutes
        self.lock(f"Locked after {minutes} minute{'s' if minutes != 1 else ''} without use.")

    def lock(self, reason: str) -> None:
        """Hide the records (and any open dialog) until the user types their password."""
        if self.is_locked:
            return
        self.is_locked = True
        self._focus_before_lock = QApplication.focusWidget()
        self._hidden_dialogs = [
            dialog for dialog in self.findChildren(QDialog) if dialog.isVisible()
        ]
        for dialog in self._hidden_dialogs:
            dialog.hide()
        for action in self.actions_by_id.values():
            action.setEnabled(False)
        self.menuBar().setEnabled(False)
        self.idle.pause()
        self.central_stack.setCurrentWidget(self.lock_screen)
        self.lock_screen.prepare(reason)
        self.locked.emit()

    def _unlocked(self) -> None:
        self.is_locked = False
        self.central_stack.setCurrentWidget(self.splitter)
        self.menuBar().setEnabled(True)
        for action in self.actions_by_id.values():
            action.setEnabled(True)
        for dialog in self._hidden_dialogs:
            dialog.show()
        self._hidden_dialogs = []
        if self._focus_before_lock is not None:
            self._focus_before_lock.setFocus(Qt.FocusReason.OtherFocusReason)
        self.idle.start()
        self.unlocked.emit()

    # geometry and closing ------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        geometry = self.settings.geometry("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        splitter = self.settings.geometry("splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)

    def _save_geometry(self) -> None:
        self.settings.set_geometry("geometry", self.saveGeometry())
        self.settings.set_geometry("splitter", self.splitter.saveState())
        self.settings.sync()

    def sign_out(self) -> None:
        """Record the sign-out and hand the workstation back to the sign-in dialog."""
        self._switching_user = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if self._session_open:
            self._session_open = False
            self.idle.stop()
            self._save_geometry()
            sign_out(self.db, self.user, self)
            if self._switching_user:
                self.signed_out.emit()
            else:
                self.quit_requested.emit()
        event.accept()
