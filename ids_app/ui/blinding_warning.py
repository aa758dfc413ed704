"""A warning beside a free-text field of a blinded study, shown as the person types.

What is typed is kept as typed, but a reader blinded on the study sees what names an arm
masked (studies.blinding.ArmMask). Saying so while the text is still being written lets
the technician reword it ("kit 1007 was dropped" rather than "the placebo kit was
dropped") instead of finding "[arm hidden]" in the binder later. The question is asked of
the same mask every report uses (:meth:`ArmMask.reveals`); this module only shows it.
"""

from __future__ import annotations

from typing import cast

from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QPlainTextEdit, QWidget

from ids_app.studies.blinding import ARM_HIDDEN, NO_MASK, ArmMask

TypedField = QLineEdit | QPlainTextEdit

WARNING_TEXT = (
    f"This text names a treatment arm or its drug. Staff blinded on this study will see "
    f"that part as “{ARM_HIDDEN}”. Describe the stock by kit, lot or what happened instead."
)
WARNING_COLOR = "#7a4a00"


class BlindingWarning(QLabel):
    """Shown while ``field`` holds text that the study's blinding would mask."""

    def __init__(self, field: TypedField, parent: QWidget | None = None) -> None:
        super().__init__(WARNING_TEXT, parent)
        self.setObjectName(f"{field.objectName() or 'text'}BlindingWarning")
        self.setWordWrap(True)
        self.setStyleSheet(f"color: {WARNING_COLOR};")
        self.field = field
        self.arm_mask: ArmMask = NO_MASK
        self.hide()
        field.textChanged.connect(self.check)

    def set_mask(self, mask: ArmMask) -> None:
        """The study's mask (NO_MASK on an open-label study: nothing to warn about)."""
        self.arm_mask = mask
        self.check()

    def check(self) -> None:
        text = (
            self.field.toPlainText()
            if isinstance(self.field, QPlainTextEdit)
            else self.field.text()
        )
        self.setVisible(bool(text) and self.arm_mask.reveals(text))


def warn_beside(form: QFormLayout, field: TypedField, mask: ArmMask = NO_MASK) -> BlindingWarning:
    """A :class:`BlindingWarning` for ``field``, on the form row just below it."""
    warning = BlindingWarning(field)
    row = cast(tuple[int, QFormLayout.ItemRole], form.getWidgetPosition(field))[0]
    form.insertRow(row + 1, warning)
    warning.set_mask(mask)
    return warning
