"""`ids-app` headless commands: demo, verify, backup, migrate, users."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ids_app.cli import build_parser, main
from ids_app.config import sqlite_url
from ids_app.db import Database
from ids_app.demo import DEMO_ADMIN, DEMO_USERS
from ids_app.users.services import MAX_FAILED_ATTEMPTS, SignInRefused, sign_in


@pytest.fixture(scope="module")
def demo_built_by_the_command(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-demo") / "demo.sqlite"
    assert main(["demo", "--database", sqlite_url(path)]) == 0
    return path


@pytest.fixture
def demo_db(demo_built_by_the_command: Path, tmp_path: Path) -> str:
    """A copy of the demo the command built, for each test to change as it likes."""
    path = tmp_path / "demo.sqlite"
    shutil.copyfile(demo_built_by_the_command, path)
    return sqlite_url(path)


def test_demo_builds_seed_users_for_every_role(
    demo_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["users", "list", "--database", demo_db]) == 0
    listed = capsys.readouterr().out
    for person in (DEMO_ADMIN, *DEMO_USERS):
        assert person.username in listed
    db = Database(demo_db)
    for person in DEMO_USERS:
        with db.unit_of_work() as session:
            assert not sign_in(session, person.username, person.password).must_change_password


def test_demo_refuses_a_database_that_has_users(
    demo_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--database", demo_db]) == 2
    assert "already has users" in capsys.readouterr().err


def test_verify_passes_then_names_a_tampered_entry(
    demo_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--database", demo_db]) == 0
    assert "intact" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "demo.sqlite") as conn:
        conn.execute("DROP TRIGGER audit_entry_no_update")
        conn.execute("UPDATE audit_entry SET username = 'someone-else' WHERE id = 4")
    assert main(["verify", "--database", demo_db]) == 1
    err = capsys.readouterr().err
    assert "chain: audit_entry record 4: its content was changed" in err
    assert "audit_entry: its append-only trigger audit_entry_no_update is missing" in err


def test_backup_makes_a_consistent_copy_and_never_overwrites(
    demo_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy.sqlite"
    assert main(["backup", str(copy), "--database", demo_db]) == 0
    assert main(["verify", "--database", sqlite_url(copy)]) == 0
    assert main(["backup", str(copy), "--database", demo_db]) == 2
    assert "already exists" in capsys.readouterr().err


def test_administrator_adds_and_unlocks_users_headless(
    demo_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IDS_PASSWORD", DEMO_ADMIN.password)
    monkeypatch.setenv("IDS_NEW_PASSWORD", "first-pass-1")
    args = ["--database", demo_db, "--as", "admin"]
    assert main(["users", "add", "newtech", "New Tech", "technician", *args]) == 0
    db = Database(demo_db)
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(SignInRefused), db.unit_of_work() as session:
            sign_in(session, "newtech", "wrong-pass")
    assert main(["users", "list", "--database", demo_db]) == 0
    assert "locked" in capsys.readouterr().out
    assert main(["users", "unlock", "newtech", *args]) == 0
    with db.unit_of_work() as session:
        assert sign_in(session, "newtech", "first-pass-1").must_change_password


def test_headless_administration_needs_an_administrator(
    demo_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IDS_PASSWORD", "demo-tech")
    monkeypatch.setenv("IDS_NEW_PASSWORD", "first-pass-1")
    code = main(["users", "add", "x", "X", "monitor", "--database", demo_db, "--as", "tech"])
    assert code == 2
    assert "Only an administrator may add users" in capsys.readouterr().err


def test_unknown_database_type_is_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--database", "oracle://scott@db/ids"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ids-app: Unknown database type 'oracle'")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["gui"],
        ["demo"],
        ["verify"],
        ["backup"],
        ["migrate"],
        ["users"],
        ["users", "add"],
        ["users", "unlock"],
        ["users", "reset-password"],
        ["users", "deactivate"],
    ],
)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*command, "--help"])
    assert exited.value.code == 0
    assert "usage: ids-app" in capsys.readouterr().out


def test_installed_entry_point_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("ids-app")
    url = sqlite_url(tmp_path / "cli.sqlite")
    done = subprocess.run(
        [str(script), "migrate", "--database", url], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Created a new database" in done.stdout
