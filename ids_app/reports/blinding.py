"""Keeping arms out of a blinded edition: structured fields and free text alike.

A blinded user never sees a kit's arm, in the UI or in an export (DESIGN.md, "Users,
signatures, audit"). Arm fields are left out by the gatherers; free text that people typed
(a reason, a note) could still name an arm, so it is masked too. The product's own
strength ("10 mg or placebo") and the study's title are not an arm and are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ids_app.reports.records import Edition
from ids_app.studies.models import Arm, Product

ARM_HIDDEN = "[arm hidden]"


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
        names = sorted({name for name in self._names.values() if name.strip()}, key=len)[::-1]
        self._arm_pattern = (
            re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)", re.I)
            if self.hides and names
            else None
        )
        # The product's strength and the study's title ("Placebo-Controlled") are public
        # wording of the protocol, not a kit's or a subject's arm.
        phrases = set(keep)
        for product in products:
            phrases |= {
                product.description,
                f"{product.agent_name} {product.strength}",
                product.strength,
            }
        ordered = sorted((p for p in phrases if p.strip()), key=len)[::-1]
        self._public_pattern = (
            re.compile("|".join(map(re.escape, ordered)), re.I) if ordered else None
        )

    def arm(self, arm_id: int | None) -> str | None:
        """The arm's name for an unblinded edition; None in a blinded one."""
        if self.hides or arm_id is None:
            return None
        return self._names.get(arm_id)

    def text(self, value: str | None) -> str | None:
        """Free text with any arm name masked (blinded edition only)."""
        if value is None or self._arm_pattern is None:
            return value
        kept: list[str] = []

        def shield(match: re.Match[str]) -> str:
            kept.append(match.group(0))
            return f"\x00{len(kept) - 1}\x00"

        shielded = self._public_pattern.sub(shield, value) if self._public_pattern else value
        masked = self._arm_pattern.sub(ARM_HIDDEN, shielded)
        return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], masked)

    def required_text(self, value: str) -> str:
        return self.text(value) or ""
