"""Masking what would name a treatment arm in the free text people typed, for a reader
blinded on a study. :meth:`ArmMask.text` is the one masking function: every screen,
report, export and audit view that shows typed text to a blinded reader goes through it.

A blinded user never sees a kit's arm, in the UI or in an export (DESIGN.md, "Users,
signatures, audit"). Arm fields are left out or hidden by whatever shows them; free text
(a reason, a note, a hold's details, a visit) could still name an arm, so three kinds of
phrase are masked, whatever their case, spacing, hyphens or punctuation ("ABC 10 mg" is
also "ABC 10mg", "abc-10 mg", "ABC10MG"):

- an arm's name ("ABC 10 mg", "Placebo");
- an arm's code, but only beside a word that makes it one ("arm B", "Arm: B", "group B",
  "Treatment A", "B arm", "arms A and B", "ArmB"), so the A in "a box" or "Shelf A" stays;
- the wording of a product that is one arm's drug rather than the blinded kit: a placebo
  or comparator product, or an active product of the blinded product's own agent.

The blinded product's own wording ("ABC 10 mg or placebo") and the study's title are the
public wording of the protocol, not an arm, and stay readable where they are written
whole. Masking errs on the hidden side: "stopped treatment a week ago" loses "treatment
a"; :meth:`ArmMask.reveals` lets a screen warn the person typing so they can reword it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ids_app.studies.models import Blinding, Product, ProductRole, Study
from ids_app.studies.services import is_unblinded
from ids_app.users.models import User

ARM_HIDDEN = "[arm hidden]"

# Words that make a code an arm's code: "arm B", "group B", "treatment B", "cohort B".
CONTEXT_WORDS = ("arms", "arm", "groups", "group", "treatments", "treatment", "cohorts", "cohort")
# Codes that are English words ("A", "I") are an arm's code only before "arm" itself:
# "B group" names a group, "a group of kits" does not.
ENGLISH_WORD_CODES = frozenset({"a", "i"})
# Between a context word and its code: spaces, colons, hyphens and dashes, brackets, quotes
# ("Arm: B", "Arm-A", "arm (B)", 'arm "B"'); not "." "," ";", which end a phrase.
# (\u2018-\u201d are curly quotes, \u2010-\u2014 hyphens and dashes).
_GAP = r"[\s:#=()\[\]\"'\u2018\u2019\u201c\u201d\-\u2010-\u2014_/*]{1,4}"
# Codes listed after one context word: "arms A and B", "arm A/B", "groups A, B".
_LIST = r"\s*(?:,|/|&|\+|\band\b|\bor\b|\bvs\b\.?|\bversus\b)\s*"
# Shorter names than this are matched as codes, in context only.
_SHORTEST_NAME = 3


def _loose(phrase: str) -> str | None:
    """A pattern of ``phrase`` that ignores case, spaces, hyphens and punctuation: its
    letters and digits in order, anything else (or nothing) between them, and no letter or
    digit either side, so "ABC 10 mg" finds "ABC10MG" but not "ABC 100 mg"."""
    chars = [char for char in phrase.casefold() if char.isalnum()]
    if not chars:
        return None
    return r"(?<![^\W_])" + r"[\W_]*".join(map(re.escape, chars)) + r"(?![^\W_])"


def _either(patterns: Iterable[str | None]) -> str | None:
    # Longest first, so "ABC 10 mg tablet" is masked whole before "ABC 10 mg" inside it.
    found = sorted({p for p in patterns if p}, key=len, reverse=True)
    return "(?:" + "|".join(found) + ")" if found else None


def _code_pattern(codes: Iterable[str]) -> str | None:
    codes = {code.strip() for code in codes if any(char.isalnum() for char in code)}
    any_code = _either(_loose(code) for code in codes)
    if any_code is None:
        return None
    context = r"(?<![^\W_])(?:" + "|".join(CONTEXT_WORDS) + r")(?![^\W_])"
    listed = f"{any_code}(?:{_LIST}{any_code})*"
    before = _either(_loose(c) for c in codes if c.casefold() not in ENGLISH_WORD_CODES)
    after = [rf"{any_code}{_GAP}arms?(?![^\W_])"]
    if before is not None:
        after.append(rf"{before}{_GAP}{context}")
    # Written together ("ArmB", "group2"): only a code in capitals or digits, so that
    # "arms" and "armed" never read as arm S or arm ED.
    glued_codes = _either(f"(?-i:{re.escape(c.upper())})" for c in codes if c.isalnum())
    if glued_codes is not None:
        after.append(rf"(?<![^\W_])(?:{'|'.join(CONTEXT_WORDS)}){glued_codes}(?![^\W_])")
    return "|".join([rf"{context}{_GAP}{listed}", *after])


class ArmMask:
    """Masks, in free text, what names one study's arms (or several studies')."""

    def __init__(
        self, names: Iterable[str] = (), codes: Iterable[str] = (), keep: Iterable[str] = ()
    ) -> None:
        names = [name for name in names if name.strip()]
        self.names = frozenset(n for n in names if _alnum_length(n) >= _SHORTEST_NAME)
        self.codes = frozenset(
            [*codes, *(n for n in names if _alnum_length(n) < _SHORTEST_NAME)]
        ) - {""}
        self.keep = frozenset(phrase for phrase in keep if phrase.strip())
        parts = [p for p in (_either(map(_loose, self.names)), _code_pattern(self.codes)) if p]
        self._pattern = re.compile("|".join(parts), re.IGNORECASE) if parts else None
        keep_pattern = _either(map(_loose, self.keep))
        self._keep = re.compile(keep_pattern, re.IGNORECASE) if keep_pattern else None

    @classmethod
    def joined(cls, masks: Iterable[ArmMask]) -> ArmMask:
        """One mask for the arms of several studies (text that names no study)."""
        names: set[str] = set()
        codes: set[str] = set()
        keep: set[str] = set()
        for mask in masks:
            names |= mask.names
            codes |= mask.codes
            keep |= mask.keep
        return cls(names, codes, keep)

    @property
    def masks_anything(self) -> bool:
        return self._pattern is not None

    def text(self, value: str | None) -> str | None:
        """``value`` with every arm name, arm code in context and arm product replaced by
        ARM_HIDDEN; the study's public wording is left as written."""
        if value is None or self._pattern is None:
            return value
        if self._keep is None:
            return self._pattern.sub(ARM_HIDDEN, value)
        # Mask between the kept phrases, never across one.
        pieces: list[str] = []
        start = 0
        for kept in self._keep.finditer(value):
            pieces += [self._pattern.sub(ARM_HIDDEN, value[start : kept.start()]), kept.group(0)]
            start = kept.end()
        pieces.append(self._pattern.sub(ARM_HIDDEN, value[start:]))
        return "".join(pieces)

    def required_text(self, value: str) -> str:
        return self.text(value) or ""

    def reveals(self, value: str) -> bool:
        """Whether a blinded reader would see ``value`` masked: it names an arm."""
        return self.text(value) != value

    def record_value(self, value: str | None) -> str | None:
        """An audit-trail value masked: each text of an inserted record's JSON (so escapes
        such as ``\\u2013`` cannot hide a name), or the value itself."""
        if value is None or not value.startswith("{"):
            return self.text(value)
        try:
            fields = json.loads(value)
        except ValueError:
            return self.text(value)
        if not isinstance(fields, dict):
            return self.text(value)
        masked = {
            key: self.text(item) if isinstance(item, str) else item for key, item in fields.items()
        }
        if masked == fields:
            return value
        return json.dumps(masked, ensure_ascii=False, sort_keys=True)


NO_MASK = ArmMask()


def _alnum_length(text: str) -> int:
    return sum(char.isalnum() for char in text)


def study_mask(study: Study) -> ArmMask:
    """What a reader blinded on ``study`` may not read in typed text: its arms' names and
    codes and its arm products' wording, keeping its title and blinded products' wording.
    Who is blinded is the caller's question (:func:`reader_mask`)."""
    public = [p for p in study.products if not _is_arm_product(p, study.products)]
    revealing = [p for p in study.products if _is_arm_product(p, study.products)]
    public_agents = {p.agent_name.casefold() for p in public}
    names = [arm.name for arm in study.arms]
    for product in revealing:
        names += [product.description, f"{product.agent_name} {product.strength}"]
        if any(char.isdigit() for char in product.strength):
            names.append(product.strength)
        if product.agent_name.casefold() not in public_agents:
            names.append(product.agent_name)
    keep = [study.title]
    for product in public:
        keep += [product.description, f"{product.agent_name} {product.strength}", product.strength]
    return ArmMask(names, [arm.code for arm in study.arms], keep)


def _is_arm_product(product: Product, products: Iterable[Product]) -> bool:
    """A product that is one arm's drug, not the blinded kit every arm receives: a placebo
    or comparator, or an active product of a blinded product's agent. An open rescue
    medicine of another agent names no arm."""
    if product.role in (ProductRole.PLACEBO, ProductRole.COMPARATOR):
        return True
    blinded_agents = {p.agent_name.casefold() for p in products if p.role is ProductRole.BLINDED}
    return product.role is ProductRole.ACTIVE and product.agent_name.casefold() in blinded_agents


def arm_mask_of(session: Session, study_id: int) -> ArmMask:
    """The study's mask, whoever reads: what a blinded reader would see masked (the
    warning shown while typing asks this); nothing on an open-label study."""
    study = session.get_one(Study, study_id)
    return study_mask(study) if study.is_blinded else NO_MASK


def reader_mask(session: Session, reader: User, study_id: int) -> ArmMask:
    """The mask for ``reader`` on the study: the study's, unless they may see its arms."""
    study = session.get_one(Study, study_id)
    return NO_MASK if is_unblinded(session, reader, study) else study_mask(study)


class ReaderMasks:
    """One reader's masks, study by study, for views that list records of several studies
    (My work, the audit trail). Each study's mask is read when first asked for."""

    def __init__(self, session: Session, reader: User) -> None:
        self._session = session
        self._reader = reader
        self._by_study: dict[int, ArmMask] = {}
        self._any_study: ArmMask | None = None

    def of(self, study_id: int | None) -> ArmMask:
        """The mask for a record of the study; text that names no study is masked with the
        arms of every study the reader is blinded on."""
        if study_id is None:
            if self._any_study is None:
                self._any_study = ArmMask.joined(self.all_studies().values())
            return self._any_study
        if study_id not in self._by_study:
            self._by_study[study_id] = reader_mask(self._session, self._reader, study_id)
        return self._by_study[study_id]

    def all_studies(self) -> dict[int, ArmMask]:
        """The masks of every study the reader is blinded on."""
        for study_id in self._session.scalars(
            select(Study.id).where(Study.blinding != Blinding.OPEN_LABEL)
        ):
            self.of(study_id)
        return {sid: mask for sid, mask in self._by_study.items() if mask is not NO_MASK}

    def text(self, study_id: int | None, value: str | None) -> str | None:
        return self.of(study_id).text(value)

    def required_text(self, study_id: int | None, value: str) -> str:
        return self.of(study_id).required_text(value)
