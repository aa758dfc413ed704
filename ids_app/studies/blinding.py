"""Masking arm names in the free text people typed, for a reader blinded on a study.

A blinded user never sees a kit's arm, in the UI or in an export (DESIGN.md, "Users,
signatures, audit"). Arm fields are left out or hidden by whatever shows them; free text
(a reason, a note, a hold's details) could still name an arm ("kit was the placebo one"),
so arm names in it are masked. The product's own strength ("10 mg or placebo") and the
study's title are public wording of the protocol, not an arm, and are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.studies.models import Arm, Product, Study

ARM_HIDDEN = "[arm hidden]"


def public_wording(products: Iterable[Product], keep: Iterable[str] = ()) -> set[str]:
    """Phrases that may name an arm's drug but are not an arm: each product's description
    and strength, and ``keep`` (the study's title, "Placebo-Controlled")."""
    phrases = set(keep)
    for product in products:
        phrases |= {
            product.description,
            f"{product.agent_name} {product.strength}",
            product.strength,
        }
    return phrases


class ArmMask:
    """Masks the given arm names in free text, leaving the ``keep`` phrases readable."""

    def __init__(self, arm_names: Iterable[str], keep: Iterable[str] = ()) -> None:
        self.arm_names = frozenset(name for name in arm_names if name.strip())
        self.keep = frozenset(phrase for phrase in keep if phrase.strip())
        # Longest first, so "ABC 10 mg" is masked whole before a shorter name inside it.
        names = sorted(self.arm_names, key=len)[::-1]
        self._arm_pattern = (
            re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)", re.I)
            if names
            else None
        )
        ordered = sorted(self.keep, key=len)[::-1]
        self._public_pattern = (
            re.compile("|".join(map(re.escape, ordered)), re.I) if ordered else None
        )

    @classmethod
    def joined(cls, masks: Iterable[ArmMask]) -> ArmMask:
        """One mask for the arms of several studies (text that names no study)."""
        names: set[str] = set()
        keep: set[str] = set()
        for mask in masks:
            names |= mask.arm_names
            keep |= mask.keep
        return cls(names, keep)

    @property
    def masks_anything(self) -> bool:
        return self._arm_pattern is not None

    def text(self, value: str | None) -> str | None:
        """``value`` with every arm name replaced by ARM_HIDDEN."""
        if value is None or self._arm_pattern is None:
            return value
        kept: list[str] = []

        def shield(match: re.Match[str]) -> str:
            kept.append(match.group(0))
            return f"\x00{len(kept) - 1}\x00"

        shielded = self._public_pattern.sub(shield, value) if self._public_pattern else value
        masked = self._arm_pattern.sub(ARM_HIDDEN, shielded)
        return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], masked)


def arm_masks(session: Session, study_ids: Collection[int]) -> dict[int, ArmMask]:
    """Each study's mask: its arms' names, keeping its products' wording and its title."""
    if not study_ids:
        return {}
    arms: dict[int, list[str]] = {study_id: [] for study_id in study_ids}
    for study_id, name in session.execute(
        select(Arm.study_id, Arm.name).where(Arm.study_id.in_(study_ids))
    ):
        arms[study_id].append(name)
    products: dict[int, list[Product]] = {study_id: [] for study_id in study_ids}
    for product in session.scalars(select(Product).where(Product.study_id.in_(study_ids))):
        products[product.study_id].append(product)
    titles = dict(
        session.execute(select(Study.id, Study.title).where(Study.id.in_(study_ids))).all()
    )
    return {
        study_id: ArmMask(arms[study_id], public_wording(products[study_id], [titles[study_id]]))
        for study_id in study_ids
        if study_id in titles
    }
