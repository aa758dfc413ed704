"""The one masking function against what people actually type: a generated corpus of the
ways an arm gets written (case, spacing, hyphens, punctuation, "arm/group/treatment" beside
a code), and the ordinary words with an A or a B in them that must come through untouched.

The studies are built in memory, as the models describe them: ABC-123 (the DOMAIN.md
example: arms "ABC 10 mg" and "Placebo", one blinded product "ABC 10 mg or placebo" and an
open rescue tablet) and XYZ-456, whose sponsor ships the active drug and its placebo as
two labelled products.
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from ids_app.studies.blinding import ARM_HIDDEN, ArmMask, study_mask
from ids_app.studies.models import Arm, Blinding, Product, ProductRole, Study

TITLE = "A Phase 3, Randomized, Double-Blind, Placebo-Controlled Study of ABC in Adults"


def _product(agent: str, strength: str, role: ProductRole, form: str = "tablet") -> Product:
    return Product(agent_name=agent, strength=strength, dosage_form=form, role=role)


def _study(arms: list[tuple[str, str]], products: list[Product]) -> Study:
    study = Study(protocol_number="ABC-123", title=TITLE, blinding=Blinding.DOUBLE_BLIND)
    study.arms = [Arm(code=code, name=name) for code, name in arms]
    study.products = products
    return study


ABC = study_mask(
    _study(
        [("A", "ABC 10 mg"), ("B", "Placebo")],
        [
            _product("ABC", "10 mg or placebo", ProductRole.BLINDED),
            _product("Rescue", "5 mg", ProductRole.ACTIVE),
        ],
    )
)
XYZ = study_mask(
    _study(
        [("1", "Active"), ("2", "Control")],
        [
            _product("XYZ", "25 mg or placebo", ProductRole.BLINDED, "capsule"),
            _product("XYZ", "25 mg", ProductRole.ACTIVE, "capsule"),
            _product("Matching placebo", "0 mg", ProductRole.PLACEBO, "capsule"),
        ],
    )
)


def squeezed(text: str) -> str:
    """Letters and digits only, lower case: what is left of a name however it was spaced."""
    return "".join(char for char in text.casefold() if char.isalnum())


# -- the corpus --------------------------------------------------------------------------------

SEPARATORS = ["", " ", "  ", "-", " - ", "_", ".", "/", "\t", "\u2013"]
CONTEXT_WORDS = ["arm", "arms", "group", "treatment", "cohort"]
GAPS = [" ", "  ", ": ", "-", " - ", " (", ' "', " #", "_", "\u2013", " = "]
PREFIXES = ["", "kit is ", "IWRS says ", "Note: ", "kit 1007 (", "seen on the shelf; "]
SUFFIXES = ["", " look-alike", ".", "; cap cracked", ")", ", see the IWRS"]


@st.composite
def cased(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if up else c.lower() for c, up in zip(text, flips, strict=True))


@st.composite
def spelled(draw: st.DrawFn, name: str) -> str:
    """``name`` with a separator (or none) drawn between each letter/digit run and the
    next, and between a number and its unit: "ABC 10 mg" → "abc-10MG", "ABC10 mg"."""
    runs = re.findall(r"[A-Za-z]+|\d+", name)
    glued = draw(cased(runs[0]))
    for run in runs[1:]:
        glued += draw(st.sampled_from(SEPARATORS)) + draw(cased(run))
    return glued


@st.composite
def in_a_sentence(draw: st.DrawFn, phrase: st.SearchStrategy[str]) -> tuple[str, str]:
    said = draw(phrase)
    return said, draw(st.sampled_from(PREFIXES)) + said + draw(st.sampled_from(SUFFIXES))


@st.composite
def code_in_context(draw: st.DrawFn, codes: list[str]) -> str:
    """ "arm B", "Treatment: A", "B-arm", "GROUP (b", "arms A and B", "armB"…"""
    code = draw(cased(draw(st.sampled_from(codes))))
    word = draw(cased(draw(st.sampled_from(CONTEXT_WORDS))))
    gap = draw(st.sampled_from(GAPS))
    form = draw(st.sampled_from(["word code", "code arm", "list", "glued"]))
    if form == "glued":  # "ArmB": written together, the code in capitals
        return word + code.upper()
    if form == "code arm":
        return code + gap + draw(cased("arm"))
    if form == "list":
        other = draw(cased(draw(st.sampled_from(codes))))
        joint = draw(st.sampled_from([" and ", "/", ", ", " or ", " & "]))
        return word + gap + code + joint + other
    return word + gap + code


CONTEXT_PATTERN = re.compile(
    r"(?<![^\W_])(?:arms?|groups?|treatments?|cohorts?)[^\w.,;]{0,4}[ab12](?![^\W_])"
    r"|(?<![^\W_])[ab12][^\w.,;]{1,4}arms?(?![^\W_])",
    re.IGNORECASE,
)


# -- what must be masked ---------------------------------------------------------------------


@given(in_a_sentence(spelled("ABC 10 mg") | spelled("Placebo")))
def test_an_arm_name_is_masked_however_it_is_spelled(typed: tuple[str, str]) -> None:
    name, sentence = typed
    masked = ABC.required_text(sentence)
    assert ARM_HIDDEN in masked
    assert squeezed(name) not in squeezed(masked.replace(ARM_HIDDEN, " "))
    assert not ABC.reveals(masked)


@given(in_a_sentence(code_in_context(["A", "B"])))
def test_an_arm_code_beside_arm_group_or_treatment_is_masked(typed: tuple[str, str]) -> None:
    _phrase, sentence = typed
    masked = ABC.required_text(sentence)
    assert ARM_HIDDEN in masked
    assert CONTEXT_PATTERN.search(masked.replace(ARM_HIDDEN, " ")) is None
    assert ABC.reveals(sentence)


@given(in_a_sentence(code_in_context(["1", "2"])))
def test_a_numbered_arm_is_masked_beside_its_context_word_too(typed: tuple[str, str]) -> None:
    _phrase, sentence = typed
    masked = XYZ.required_text(sentence)
    assert CONTEXT_PATTERN.search(masked.replace(ARM_HIDDEN, " ")) is None


@given(
    in_a_sentence(spelled("XYZ 25 mg capsule") | spelled("XYZ 25 mg") | spelled("Matching placebo"))
)
def test_the_wording_of_a_product_that_is_one_arms_drug_is_masked(typed: tuple[str, str]) -> None:
    name, sentence = typed
    masked = XYZ.required_text(sentence)
    assert squeezed(name) not in squeezed(masked.replace(ARM_HIDDEN, " "))


def test_the_hold_seen_in_the_issue_reaches_a_blinded_reader_with_no_arm_in_it() -> None:
    typed = "kit is arm B; ABC 10mg look-alike; Treatment A"
    assert ABC.text(typed) == f"kit is {ARM_HIDDEN}; {ARM_HIDDEN} look-alike; {ARM_HIDDEN}"


def test_every_spelling_the_issue_names_is_masked() -> None:
    for typed in (
        "arm B",
        "Arm: B",
        "group B",
        "treatment B",
        "B arm",
        "Treatment A",
        "Arm-A",
        "ARM B",
        "arms A and B",
        "ABC 10 mg",
        "ABC 10mg",
        "abc-10 mg",
        "ABC10MG",
        "PLACEBO",
        "ArmB",
        "treatmentA",
    ):
        assert ABC.text(typed) == ARM_HIDDEN, typed


def test_an_inserted_records_json_is_masked_value_by_value_even_when_escaped() -> None:
    written = '{"details": "kit is arm\\u2013B", "kit_number": "1007"}'
    masked = ABC.record_value(written) or ""
    assert ARM_HIDDEN in masked
    assert "1007" in masked
    assert ABC.record_value('{"kit_number": "1007"}') == '{"kit_number": "1007"}'


# -- what must come through untouched ---------------------------------------------------------

ORDINARY = [
    "a box",
    "Batch",
    "Bottle A-side intact",
    "IDS Shelf A",
    "Fridge B, top shelf",
    "A group of kits arrived with torn labels",
    "B kit 1007 was dropped",
    "Lot L2301-A",
    "ABC 100 mg",
    "armband torn",
    "alarm B sounded",
    "Treatment room 2",
    "Kit 1007, bin B",
    "Arm. A new label was applied",
    "ABC 10 mg or placebo",
    "ABC 10 mg or placebo tablet",
    TITLE,
    "Rescue 5 mg tablet",
    "Visit 3, Cycle 2 Day 1",
    "arms and armed guards",
]


def test_ordinary_words_with_an_a_or_a_b_are_not_mangled() -> None:
    for typed in ORDINARY:
        assert ABC.text(typed) == typed, typed
        assert not ABC.reveals(typed), typed


WORDS = [
    "a",
    "A",
    "B",
    "b",
    "box",
    "Batch",
    "A-side",
    "Shelf",
    "kit",
    "1007",
    "lot",
    "intact",
    "cap",
    "cracked",
    "the",
    "bin",
    "Visit",
    "3",
    "ABC",
    "mg",
    "100",
    "label",
    "torn",
]


@given(st.lists(st.sampled_from(WORDS), max_size=12), st.sampled_from([" ", ", ", "; ", " - "]))
def test_text_without_a_context_word_or_a_name_comes_through_as_typed(
    words: list[str], joint: str
) -> None:
    typed = joint.join(words)
    assert ABC.text(typed) == typed


def test_an_open_label_reader_or_an_unmasked_study_keeps_every_word() -> None:
    assert ArmMask().text("kit is arm B, ABC 10 mg") == "kit is arm B, ABC 10 mg"
    assert not ArmMask().reveals("arm B")
