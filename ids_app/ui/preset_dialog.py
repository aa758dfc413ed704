"""Saved import presets in the import dialogs: offered in a mapping list, saved by name.

The kit list and packing list dialogs share these pieces; what a preset holds and who may
save or read it is decided by ``studies.import_presets``.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QLineEdit, QWidget

from ids_app.studies.import_presets import (
    PresetMapping,
    PresetRow,
    archive_import_preset,
    import_presets,
    save_import_preset,
)
from ids_app.studies.models import ImportKind, Study
from ids_app.studies.tables import DateOrder
from ids_app.studies.views import StudyRow
from ids_app.ui.context import Workspace
from ids_app.ui.forms import FormDialog
from ids_app.ui.guard import attempt

SAVED = "saved:"  # a mapping list's data for a sponsor's saved preset, before its id


def preset_data(preset: PresetRow) -> str:
    return f"{SAVED}{preset.id}"


def read_presets(ws: Workspace, study_id: int, kind: ImportKind) -> list[PresetRow]:
    """The study's sponsor's presets of ``kind``, newest first (raises the refusal)."""
    with ws.db.read_session() as session:
        return import_presets(session, ws.user, session.get_one(Study, study_id), kind)


def add_presets(combo: QComboBox, presets: list[PresetRow]) -> None:
    """Offer each saved preset in a mapping list, named with its sponsor and who saved it."""
    for preset in presets:
        combo.addItem(
            f"{preset.name} (saved for {preset.sponsor} by {preset.saved_by})",
            preset_data(preset),
        )


def chosen_preset(combo: QComboBox, presets: list[PresetRow]) -> PresetRow | None:
    """The saved preset chosen in a mapping list, if one is."""
    data = combo.currentData()
    return next((preset for preset in presets if preset_data(preset) == data), None)


def preset_used(preset: PresetRow | None) -> str:
    """How a preview names the preset that mapped the file ("" for none)."""
    return f"Mapped by {preset.sponsor}'s preset '{preset.name}'. " if preset else ""


def choose_order(combo: QComboBox, order: DateOrder | None) -> None:
    """Show ``order`` as chosen in a list of date orders (data: the order or None)."""
    for index in range(combo.count()):
        data = combo.itemData(index)
        if (DateOrder(data) if data else None) == order:
            combo.setCurrentIndex(index)
            return


class SavePresetDialog(FormDialog):
    """Name the mapping chosen and save it for the sponsor's next file of its kind."""

    saved = Signal(int)  # the preset's id

    def __init__(
        self,
        ws: Workspace,
        study: StudyRow,
        kind: ImportKind,
        mapping: PresetMapping,
        name: str,
        parent: QWidget | None = None,
    ) -> None:
        arms = (
            " Treatments mapped to arms are not saved: arms belong to each study."
            if kind is ImportKind.KIT_LIST
            else ""
        )
        super().__init__(
            ws.db,
            title=f"Save as preset — {study.sponsor}",
            heading="Save the mapping as a preset",
            intro=(
                f"The columns, header row and date order chosen are offered first when a "
                f"{kind.value} of any {study.sponsor} study is opened.{arms} Saving under a "
                "preset's name replaces it."
            ),
            accept_text="Save preset",
            reject_text="Cancel",
            parent=parent,
        )
        self.setObjectName("savePresetDialog")
        self.ws, self.study_id, self.kind, self.mapping = ws, study.id, kind, mapping
        self.name = QLineEdit(name)
        self.name.setObjectName("presetName")
        self.name.setPlaceholderText(f"e.g. the sponsor's {kind.value} export")
        self.form.addRow("&Name", self.name)

    def accept(self) -> None:
        db, user, study_id = self.db, self.ws.user, self.study_id
        kind, mapping, name = self.kind, self.mapping, self.name.text()

        def save() -> int:
            with db.unit_of_work() as session:
                study = session.get_one(Study, study_id)
                return save_import_preset(session, user, study, kind, name, mapping).id

        self.clear_error()
        preset_id = attempt(self, db, "saving the preset", save, show_refusal=self.show_error)
        if preset_id is not None:
            self.saved.emit(preset_id)
            super().accept()


class ArchivePresetDialog(FormDialog):
    """Stop offering a saved preset, with the reason; it stays on record."""

    archived = Signal(int)  # the preset's id

    def __init__(self, ws: Workspace, preset: PresetRow, parent: QWidget | None = None) -> None:
        super().__init__(
            ws.db,
            title=f"Archive preset — {preset.sponsor}",
            heading=f"Archive the preset '{preset.name}'",
            intro=(
                f"It is no longer offered for {preset.sponsor}'s {preset.kind.value}s. It is "
                "kept on record with who archived it, when and why; imports it mapped are "
                "unchanged."
            ),
            accept_text="Archive preset",
            reject_text="Cancel",
            parent=parent,
        )
        self.setObjectName("archivePresetDialog")
        self.ws, self.preset_id = ws, preset.id
        self.reason = QLineEdit()
        self.reason.setObjectName("archiveReason")
        self.reason.setPlaceholderText("e.g. the sponsor changed its IWRS vendor")
        self.form.addRow("&Reason", self.reason)

    def accept(self) -> None:
        db, user, preset_id, reason = self.db, self.ws.user, self.preset_id, self.reason.text()

        def archive() -> int:
            with db.unit_of_work() as session:
                archive_import_preset(session, user, preset_id, reason)
            return preset_id

        self.clear_error()
        done = attempt(self, db, "archiving the preset", archive, show_refusal=self.show_error)
        if done is not None:
            self.archived.emit(done)
            super().accept()
