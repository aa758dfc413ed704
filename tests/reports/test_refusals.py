"""Bad input: one sentence a technician understands, and no file (not even a partial one)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ids_app.audit.models import AuditEntry
from ids_app.cli import main
from ids_app.config import sqlite_url
from ids_app.errors import IdsError, InvalidInput, NotFound, PermissionDenied
from ids_app.reports.exports import export_audit_binder, export_sponsor_workbook
from ids_app.reports.output import OutputNotWritable
from ids_app.reports.period import EmptyPeriod, Period
from ids_app.reports.progress import ReportCancelled
from tests import databases
from tests.reports.conftest import ORAL, PASSWORDS, Demo


def one_sentence(message: str) -> bool:
    """Ends in a full stop, with no other sentence break and no line break."""
    body = message.rstrip(".")
    return message.endswith(".") and ". " not in body and "\n" not in message


def _exports(demo: Demo) -> int:
    with demo.db.read_session() as session:
        return (
            session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "export")
            )
            or 0
        )


REFUSALS: dict[str, tuple[type[IdsError], str, Callable[[Demo, Path], object]]] = {
    "unknown study": (
        NotFound,
        "There is no study with protocol number 'NOPE-1'.",
        lambda demo, out: export_audit_binder(demo.db, demo.user("tech"), "NOPE-1", out),
    ),
    "empty period": (
        EmptyPeriod,
        "Nothing was recorded for ABC-123 from 2020-01-01 to 2020-01-31; choose a period "
        "when the study had activity.",
        lambda demo, out: export_audit_binder(
            demo.db,
            demo.user("tech"),
            ORAL,
            out,
            period=Period(dt.date(2020, 1, 1), dt.date(2020, 1, 31)),
        ),
    ),
    "blinded user asks for the unblinded edition": (
        PermissionDenied,
        "Terry Tech is blinded on ABC-123; only staff with unblinded access to the study may "
        "export an unblinded edition.",
        lambda demo, out: export_audit_binder(
            demo.db, demo.user("tech"), ORAL, out, unblinded=True
        ),
    ),
    "blinded user asks for the unblinded workbook": (
        PermissionDenied,
        "Sam Lee is blinded on ABC-123; only staff with unblinded access to the study may "
        "export an unblinded edition.",
        lambda demo, out: export_sponsor_workbook(
            demo.db, demo.user("pharm2"), ORAL, out.with_suffix(".xlsx"), unblinded=True
        ),
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_bad_input_gives_one_sentence_and_no_file(demo: Demo, tmp_path: Path, case: str) -> None:
    kind, message, attempt = REFUSALS[case]
    before = _exports(demo)
    with pytest.raises(kind) as refused:
        attempt(demo, tmp_path / "binder.pdf")
    assert str(refused.value) == message
    assert one_sentence(str(refused.value))
    assert list(tmp_path.iterdir()) == []
    assert _exports(demo) == before


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        Period(dt.date(2026, 3, 1), dt.date(2026, 2, 1))
    assert str(refused.value) == (
        "The period starts on 2026-03-01, after it ends on 2026-02-01; swap the dates."
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing/binder.pdf", "Cannot write {out}: the folder {folder} does not exist."),
        ("a-folder", "The file a-folder should end in .pdf; rename it."),
        ("folder.pdf", "Cannot write {out}: it is a folder; name a file."),
    ],
)
def test_an_unwritable_output_path_is_refused_before_any_work(
    demo: Demo, tmp_path: Path, name: str, message: str
) -> None:
    (tmp_path / "folder.pdf").mkdir()
    out = tmp_path / name
    with pytest.raises(OutputNotWritable) as refused:
        export_audit_binder(demo.db, demo.user("tech"), ORAL, out)
    assert str(refused.value) == message.format(out=out, folder=out.parent)
    assert one_sentence(str(refused.value).replace(".pdf", "_pdf"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.pdf"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_refused(demo: Demo, tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputNotWritable, match="is not writable"):
            export_audit_binder(demo.db, demo.user("tech"), ORAL, folder / "binder.pdf")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_a_failure_after_rendering_leaves_no_partial_file(demo: Demo, tmp_path: Path) -> None:
    """Cancelled once the workbook is written but before it is published: nothing stays."""
    steps: list[int] = []
    before = _exports(demo)
    with pytest.raises(ReportCancelled):
        export_sponsor_workbook(
            demo.db,
            demo.user("tech"),
            ORAL,
            tmp_path / "workbook.xlsx",
            cdisc_out=tmp_path / "da.csv",
            progress=lambda done, total: steps.append(done),
            cancelled=lambda: len(steps) == 13,  # the step after the workbook is written
        )
    assert list(tmp_path.iterdir()) == []
    assert _exports(demo) == before


@pytest.fixture
def demo_url(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> str:
    if databases.ON_POSTGRES:
        url = demo.db.url.render_as_string(hide_password=False)
    else:
        url = sqlite_url(Path(demo.db.url.database or ""))
    monkeypatch.setenv("IDS_DATABASE_URL", url)
    return url


@pytest.mark.parametrize(
    ("who", "arguments", "message"),
    [
        (
            "tech",
            ["report", "binder", "--study", "NOPE-1", "--out", "{tmp}/b.pdf"],
            "There is no study with protocol number 'NOPE-1'.",
        ),
        (
            "tech",
            ["report", "binder", "--study", ORAL, "--out", "{tmp}/b.pdf", "--unblinded"],
            "Terry Tech is blinded on ABC-123; only staff with unblinded access to the study "
            "may export an unblinded edition.",
        ),
        (
            "tech",
            [
                "export",
                "sponsor",
                "--study",
                ORAL,
                "--out",
                "{tmp}/w.xlsx",
                "--from",
                "2020-01-01",
                "--to",
                "2020-01-31",
            ],
            "Nothing was recorded for ABC-123 from 2020-01-01 to 2020-01-31; choose a period "
            "when the study had activity.",
        ),
        (
            "tech",
            [
                "report",
                "destruction",
                "--study",
                ORAL,
                "--disposal",
                "DEST-9",
                "--out",
                "{tmp}/c.pdf",
            ],
            "There is no disposal DEST-9 in study ABC-123.",
        ),
        (
            "tech",
            [
                "report",
                "label",
                "--order",
                "9999",
                "--out",
                "{tmp}/l.pdf",
                "--pharmacy",
                "IDS",
                "--phone",
                "555-0100",
            ],
            "There is no dispense order 9999.",
        ),
        (
            "monitor",
            ["report", "binder", "--study", ORAL, "--out", "{tmp}/missing/b.pdf"],
            "Cannot write {tmp}/missing/b.pdf: the folder {tmp}/missing does not exist.",
        ),
    ],
)
def test_cli_prints_the_one_sentence_exits_2_and_writes_nothing(
    demo_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    who: str,
    arguments: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("IDS_PASSWORD", PASSWORDS[who])
    argv = [a.format(tmp=tmp_path) for a in arguments] + ["--as", who]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"ids-app: {message.format(tmp=tmp_path)}\n"
    assert list(tmp_path.glob("**/*.*")) == []


def test_cli_makes_a_label_and_a_certificate_signed_in_as_the_user(
    demo_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IDS_PASSWORD", PASSWORDS["tech"])
    monkeypatch.setenv("IDS_PHARMACY_NAME", "Investigational Drug Service")
    monkeypatch.setenv("IDS_PHARMACY_PHONE", "(555) 010-0100")
    assert (
        main(["report", "label", "--order", "24", "--out", f"{tmp_path}/l.pdf", "--as", "tech"])
        == 0
    )
    assert (
        main(
            [
                "report",
                "destruction",
                "--study",
                ORAL,
                "--disposal",
                "DEST-ABC-0001",
                "--out",
                f"{tmp_path}/c.pdf",
                "--as",
                "tech",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert f"Label for order 24 written to {tmp_path}/l.pdf" in out
    assert f"Certificate for disposal DEST-ABC-0001 written to {tmp_path}/c.pdf" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pdf", "l.pdf"]


def test_cli_refuses_a_wrong_password_and_keeps_the_attempt(
    demo: Demo,
    demo_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IDS_PASSWORD", "not-the-password")
    assert (
        main(["report", "binder", "--study", ORAL, "--out", f"{tmp_path}/b.pdf", "--as", "tech"])
        == 2
    )
    assert capsys.readouterr().err.startswith("ids-app: ")
    assert list(tmp_path.iterdir()) == []
    with demo.db.read_session() as session:
        failed = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "sign_in_failed")
        )
    assert failed == 1
