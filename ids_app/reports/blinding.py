"""Keeping arms out of a blinded edition: structured fields and free text alike.

A blinded user never sees a kit's arm (DESIGN.md, "Users, signatures, audit"). Arm fields
are left out by the gatherers; free text that people typed (a reason, a note) could still
name an arm, so it is masked too (studies.blinding.ArmMask, shared with the audit-trail
viewer). The product's own strength ("10 mg or placebo") and the study's title are not an
arm and are left as they are.
"""

from __future__ import annotations

from collections.abc import Iterable

from ids_app.reports.records import Edition
from ids_app.studies.blinding import ArmMask, public_wording
from ids_app.studies.models import Arm, Product


class Blinder:
    """What one edition may show of a study's arms."""

    def __init__(
        self,
        edition: Edition,
        arms: Iterable[Arm],
        products: Iterable[Product],
        keep: Iterable[str] = (),
    ) -> None:
        self.hides = edition is Edition.BLINDED
        self._names = {arm.id: arm.name for arm in arms}
        self._mask = ArmMask(
            self._names.values() if self.hides else (), public_wording(products, keep)
        )

    def arm(self, arm_id: int | None) -> str | None:
        """The arm's name for an unblinded edition; None in a blinded one."""
        if self.hides or arm_id is None:
            return None
        return self._names.get(arm_id)

    def text(self, value: str | None) -> str | None:
        """Free text with any arm name masked (blinded edition only)."""
        return self._mask.text(value)

    def required_text(self, value: str) -> str:
        return self.text(value) or ""
