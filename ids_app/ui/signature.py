"""Signing at the workstation: the password again, the meaning, and how the signature reads.

21 CFR 11.50: a signed record shows the printed name, date and time, and meaning; the
dialog shows that manifestation before signing. 11.200: every signing re-asks the
password. A wrong password is refused by the service and kept on record; the dialog
shows the refusal and stays open. The witness of a destruction signs here too, with
their own user name and password.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QWidget

from ids_app.db import Database, utc_now
from ids_app.studies.blinding import NO_MASK, ArmMask
from ids_app.ui.blinding_warning import warn_beside
from ids_app.ui.forms import FormDialog, hint_label, password_field
from ids_app.ui.guard import attempt
from ids_app.users.models import Role, Signature, SignatureMeaning, User
from ids_app.users.signatures import manifestation

MEANINGS = {
    SignatureMeaning.PREPARED: "I prepared this and it is what was ordered.",
    SignatureMeaning.VERIFIED: "I checked this independently and it is correct.",
    SignatureMeaning.WITNESSED: "I saw this done.",
    SignatureMeaning.APPROVED: "I approve this and take responsibility for it.",
    SignatureMeaning.REVIEWED: "I reviewed this.",
    SignatureMeaning.AUTHORED: "I wrote this.",
}


def manifestation_preview(printed_name: str, role: Role, meaning: SignatureMeaning) -> str:
    """How the signature will read if signed now (the same wording as the record's)."""
    draft = Signature(printed_name=printed_name, role=role, meaning=meaning, signed_at=utc_now())
    return manifestation(draft)


class SignatureDialog(FormDialog):
    """The signed-in user's signature: password and meaning, manifestation shown.

    ``sign(password)`` runs the whole unit of work and returns what to report (usually the
    stored signature's manifestation); ``signed`` carries it.
    """

    signed = Signal(object)

    def __init__(
        self,
        db: Database,
        user: User,
        *,
        meaning: SignatureMeaning,
        what: str,
        sign: Callable[[str], Any],
        accept_text: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            db,
            title=f"Sign — {meaning.value}",
            heading=f"Sign as {meaning.value}",
            intro=what,
            accept_text=accept_text or f"Sign as {meaning.value}",
            reject_text="Cancel",
            parent=parent,
        )
        self.setObjectName("signatureDialog")
        self.user = user
        self.meaning = meaning
        self._sign = sign
        self.result_value: Any = None
        self.signer_label = QLabel(f"{user.full_name} ({user.role.label})")
        self.meaning_label = QLabel(f"{meaning.value.capitalize()}: {MEANINGS[meaning]}")
        self.meaning_label.setWordWrap(True)
        self.password_field = password_field()
        self.password_field.setObjectName("signaturePassword")
        self.manifestation_label = hint_label(
            "Your signature will read: " + manifestation_preview(user.full_name, user.role, meaning)
        )
        self.manifestation_label.setObjectName("manifestation")
        self.form.addRow("Signer", self.signer_label)
        self.form.addRow("Meaning", self.meaning_label)
        self.form.addRow("Password", self.password_field)
        self.form.addRow("", self.manifestation_label)
        self.password_field.setFocus()

    def accept(self) -> None:
        self.clear_error()
        password = self.password_field.text()
        result = attempt(
            self,
            self.db,
            f"signing as {self.meaning.value}",
            lambda: self._sign(password) or True,
            show_refusal=self._refused,
        )
        if result is None:
            return
        self.result_value = result
        self.password_field.clear()
        self.signed.emit(result)
        super().accept()

    def _refused(self, message: str) -> None:
        self.password_field.clear()
        self.show_error(message)
        self.password_field.setFocus()


class WitnessDialog(FormDialog):
    """The person who performs an act and a witness sign it together at the same
    workstation: the performer with their password, the witness with their own name and
    password. ``sign(performer_password, witness_username, witness_password)``."""

    signed = Signal(object)

    def __init__(
        self,
        db: Database,
        *,
        what: str,
        performer: str,
        sign: Callable[[str, str, str], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            db,
            title="Performer and witness signatures",
            heading="Sign: the person who performs it, then the witness",
            intro=what,
            accept_text="Sign",
            reject_text="Cancel",
            parent=parent,
        )
        self.setObjectName("witnessDialog")
        self._sign = sign
        self.result_value: Any = None
        self.performer_password_field = password_field()
        self.performer_password_field.setObjectName("performerPassword")
        self.form.addRow(f"{performer}'s password", self.performer_password_field)
        self.form.addRow(
            "",
            hint_label(
                f"{performer}'s signature will read: {performer}, <role> — Performed — "
                "<date and time>."
            ),
        )
        self.username_field = QLineEdit()
        self.username_field.setObjectName("witnessUsername")
        self.password_field = password_field()
        self.password_field.setObjectName("witnessPassword")
        self.manifestation_label = hint_label(
            "The witness's signature will read: <their printed name>, <role> — Witnessed — "
            "<date and time>. It is shown on the certificate."
        )
        self.form.addRow("Witness user name", self.username_field)
        self.form.addRow("Witness password", self.password_field)
        self.form.addRow("", self.manifestation_label)
        self.performer_password_field.setFocus()

    def accept(self) -> None:
        self.clear_error()
        own = self.performer_password_field.text()
        username, password = self.username_field.text(), self.password_field.text()
        result = attempt(
            self,
            self.db,
            "signing as performer and witness",
            lambda: self._sign(own, username, password) or True,
            show_refusal=self._refused,
        )
        if result is None:
            return
        self.result_value = result
        self.performer_password_field.clear()
        self.password_field.clear()
        self.signed.emit(result)
        super().accept()

    def _refused(self, message: str) -> None:
        self.performer_password_field.clear()
        self.password_field.clear()
        self.show_error(message)
        self.performer_password_field.setFocus()


class ReasonDialog(FormDialog):
    """An action that needs a reason (reject, cancel, resolve): the service checks it."""

    completed = Signal(object)

    def __init__(
        self,
        db: Database,
        *,
        title: str,
        intro: str,
        accept_text: str,
        act: Callable[[str], Any],
        label: str = "Reason",
        mask: ArmMask = NO_MASK,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            db,
            title=title,
            heading=title,
            intro=intro,
            accept_text=accept_text,
            reject_text="Cancel",
            parent=parent,
        )
        self.setObjectName("reasonDialog")
        self._act = act
        self.result_value: Any = None
        self.reason_field = QPlainTextEdit()
        self.reason_field.setObjectName("reason")
        self.reason_field.setTabChangesFocus(True)
        self.reason_field.setFixedHeight(self.fontMetrics().lineSpacing() * 4 + 12)
        self.form.addRow(label, self.reason_field)
        warn_beside(self.form, self.reason_field, mask)
        self.reason_field.setFocus()

    def accept(self) -> None:
        self.clear_error()
        reason = self.reason_field.toPlainText()
        result = attempt(
            self,
            self.db,
            self.windowTitle().lower(),
            lambda: self._act(reason) or True,
            show_refusal=self.show_error,
        )
        if result is None:
            return
        self.result_value = result
        self.completed.emit(result)
        super().accept()


class SignedReasonDialog(ReasonDialog):
    """A correction of the record (an adjustment): a reason, and the signer's password.

    ``act(reason, password)`` runs the whole unit of work; the service signs with it
    (21 CFR 11.50, 11.200), so a wrong password is refused and kept on record.
    """

    def __init__(
        self,
        db: Database,
        user: User,
        *,
        title: str,
        intro: str,
        accept_text: str,
        act: Callable[[str, str], Any],
        mask: ArmMask = NO_MASK,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            db,
            title=title,
            intro=intro,
            accept_text=accept_text,
            act=lambda reason: act(reason, self.password_field.text()),
            mask=mask,
            parent=parent,
        )
        self.password_field = password_field()
        self.password_field.setObjectName("signaturePassword")
        self.form.addRow("Password", self.password_field)
        self.form.addRow(
            "",
            hint_label(
                "Your signature will read: "
                + manifestation_preview(user.full_name, user.role, SignatureMeaning.APPROVED)
            ),
        )

    def show_error(self, message: str) -> None:
        self.password_field.clear()
        super().show_error(message)
