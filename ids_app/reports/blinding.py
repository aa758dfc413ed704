"""Keeping arms out of a blinded edition: structured fields and free text alike.

A blinded user never sees a kit's arm (DESIGN.md, "Users, signatures, audit"). Arm fields
are left out by the gatherers; free text that people typed (a reason, a note, a visit)
could still name an arm, so it is masked too, by the one masking function the screens and
the audit-trail viewer use (studies.blinding.ArmMask).
"""

from __future__ import annotations

from ids_app.reports.records import Edition
from ids_app.studies.blinding import NO_MASK, study_mask
from ids_app.studies.models import Study


class Blinder:
    """What one edition may show of a study's arms."""

    def __init__(self, edition: Edition, study: Study) -> None:
        self.hides = edition is Edition.BLINDED
        self._names = {arm.id: arm.name for arm in study.arms}
        self._mask = study_mask(study) if self.hides else NO_MASK

    def arm(self, arm_id: int | None) -> str | None:
        """The arm's name for an unblinded edition; None in a blinded one."""
        if self.hides or arm_id is None:
            return None
        return self._names.get(arm_id)

    def text(self, value: str | None) -> str | None:
        """Free text with what names an arm masked (blinded edition only)."""
        return self._mask.text(value)

    def required_text(self, value: str) -> str:
        return self._mask.required_text(value)

    def record_value(self, value: str | None) -> str | None:
        """An audit-trail value, each text of an inserted record's JSON masked."""
        return self._mask.record_value(value)
