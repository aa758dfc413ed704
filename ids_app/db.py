"""Engine, sessions and the unit of work.

One workstation keeps a SQLite file (WAL, foreign keys on); several share a PostgreSQL
server. Either is chosen by a SQLAlchemy URL. A user action is one unit of work: its
records, their audit entries and any signature commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import enum
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import DateTime, Engine, MetaData, String, create_engine, event, make_url, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.exc import DatabaseError as SaDatabaseError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import Enum as SaEnum
from sqlalchemy.types import TypeDecorator

from ids_app.errors import ConnectionLost, DatabaseProblem, RecordedRefusal
from ids_app.private_files import private_database_file, private_file

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 15_000
# The PostgreSQL advisory lock every writing unit of work holds until it ends ("IDS!").
WRITE_LOCK = 0x49445321


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC instant; SQLite keeps it as naive UTC text.

    Refusing naive datetimes on the way in keeps every stored time unambiguous
    (ALCOA+: contemporaneous and accurate).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a stored time must carry its time zone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads this class attribute)
        dt.datetime: UtcDateTime(),
        str: String(),
        # States are stored by their value ("pharmacist"), readable in any SQL prompt.
        enum.Enum: SaEnum(
            enum.Enum,
            native_enum=False,
            length=32,
            values_callable=lambda members: [member.value for member in members],
        ),
    }


class RecordSession(Session):
    """The app's session class; the audit trail listens to its flushes."""


def table_of(record: object) -> str:
    """The table a mapped record lives in, as the audit trail and signatures name it."""
    return str(type(record).__tablename__)  # type: ignore[attr-defined]


_simulated_now: dt.datetime | None = None


def utc_now() -> dt.datetime:
    """The current instant, from the one clock every record's time comes from."""
    return _simulated_now if _simulated_now is not None else dt.datetime.now(dt.UTC)


def today() -> dt.date:
    """The pharmacy's calendar date (local time), from the same clock."""
    return utc_now().astimezone().date()


def moment_of(day: dt.date) -> dt.datetime:
    """When something recorded for ``day`` happened: now for today's record, noon UTC for
    a record entered after its day (a receipt, a return, a destruction)."""
    now = utc_now()
    return now if day == today() else dt.datetime.combine(day, dt.time(12), dt.UTC)


@contextmanager
def simulated_clock(at: dt.datetime) -> Iterator[None]:
    """Set the clock for building demo history; never used for a pharmacy's records."""
    global _simulated_now
    if at.tzinfo is None:
        raise ValueError("a simulated time must carry its time zone")
    before, _simulated_now = _simulated_now, at.astimezone(dt.UTC)
    try:
        yield
    finally:
        _simulated_now = before


def _configure_sqlite(engine: Engine, *, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so writes can BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if not read_only:  # choosing the journal mode writes to the file
                cursor.execute("PRAGMA journal_mode=WAL")
            # A signed record must survive a power cut: FULL syncs the WAL at each commit.
            cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writing unit of work takes the write lock first, so a second workstation
        # waits instead of failing half-way when its snapshot turns stale.
        immediate = conn.get_execution_options().get("ids_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _refuse_writes_on_server(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        finally:
            cursor.close()
        dbapi_connection.commit()


def _describe_url(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return f"the database file {url.database}"
    return f"the database {url.render_as_string(hide_password=True)}"


def parse_database_url(text: str) -> URL:
    """Parse a URL, or say in one sentence why it is not one we can use."""
    try:
        url = make_url(text)
    except ArgumentError:
        raise DatabaseProblem(
            f"'{text}' is not a database address; use sqlite:///path/to/file.sqlite "
            "or postgresql+psycopg://user@host/dbname."
        ) from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseProblem(
            f"Unknown database type '{url.get_backend_name()}'; use sqlite:///path/to/file.sqlite "
            "or postgresql+psycopg://user@host/dbname."
        )
    return url


def _read_only_url(url: URL) -> URL:
    """The same database, opened so that the driver itself refuses every write.

    SQLite is opened as a ``mode=ro`` URI: it never creates a missing file, nor writes to
    an existing one. A server connection is set read-only as it connects.
    """
    if url.get_backend_name() != "sqlite":
        return url
    path = Path(url.database or "").expanduser().resolve()
    return url.set(database=f"file:{quote(str(path))}").update_query_dict(
        {"mode": "ro", "uri": "true"}
    )


class Database:
    """An open database: an engine plus the two kinds of session the app uses.

    ``read_only`` opens it for looking only (``ids-app verify``): the driver refuses any
    write, so checking a file can never change, create or upgrade it.
    """

    def __init__(self, url: str | URL, *, echo: bool = False, read_only: bool = False) -> None:
        self.url = parse_database_url(url) if isinstance(url, str) else url
        self.read_only = read_only
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            folder = Path(self.url.database or "").expanduser().resolve().parent
            if not folder.is_dir():
                raise DatabaseProblem(
                    f"Cannot open {_describe_url(self.url)}: the folder {folder} does not exist."
                )
            if not read_only:  # looking never creates nor changes a file
                private_database_file(Path(self.url.database or "").expanduser().resolve())
        try:
            # A pooled server connection may have died since its last use (a restart,
            # a network drop): pre-ping replaces it before an action starts.
            self.engine = create_engine(
                _read_only_url(self.url) if read_only else self.url,
                echo=echo,
                pool_pre_ping=self.url.get_backend_name() != "sqlite",
            )
        except NoSuchModuleError:
            raise DatabaseProblem(
                f"Unknown database type '{self.url.drivername}'; use sqlite:///path/to/file.sqlite "
                "or postgresql+psycopg://user@host/dbname."
            ) from None
        if self.is_sqlite:
            _configure_sqlite(self.engine, read_only=read_only)
        elif read_only:
            _refuse_writes_on_server(self.engine)
        import ids_app.models  # noqa: F401 (every table and the audit listener, before any session)

        self._write_engine = self.engine.execution_options(ids_write=True)
        self._read_sessions = sessionmaker(
            self.engine, class_=RecordSession, expire_on_commit=False
        )
        self._write_sessions = sessionmaker(
            self._write_engine, class_=RecordSession, expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def description(self) -> str:
        return _describe_url(self.url)

    def check_reachable(self) -> None:
        """Open one connection, turning driver errors into a sentence."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except SaDatabaseError as error:
            raise self.problem(error) from None

    def problem(self, error: SaDatabaseError) -> DatabaseProblem:
        """The driver's error as a refusal; a server that is gone is one worth retrying."""
        if isinstance(error, OperationalError) and not self.is_sqlite:
            return ConnectionLost(self.explain(error))
        return DatabaseProblem(self.explain(error))

    def explain(self, error: SaDatabaseError) -> str:
        original = error.orig
        text = str(original)
        if isinstance(original, sqlite3.DatabaseError) and "not a database" in text:
            return f"{_describe_url(self.url)} is not a database file (is it the right file?)."
        if isinstance(error, OperationalError) and "unable to open" in text:
            return f"Cannot open {_describe_url(self.url)}: check that it is a file you may write."
        unreachable = ("connection failed", "could not connect", "Connection refused")
        if isinstance(error, OperationalError) and any(word in text for word in unreachable):
            return (
                f"Cannot reach {_describe_url(self.url)}: is the server running, and may this "
                "workstation connect to it?"
            )
        if isinstance(error, OperationalError) and not self.is_sqlite:
            return (
                f"Lost the connection to {_describe_url(self.url)}; nothing from this action "
                "was saved. Check the network or the server, then try again."
            )
        if "permission denied" in text:
            return (
                f"The database account may not do this ({text.strip().splitlines()[0]}); "
                "nothing was saved. Ask the database administrator."
            )
        return f"Cannot use {_describe_url(self.url)}: {text.strip().splitlines()[0]}"

    def read_session(self) -> Session:
        """A session for looking: it never commits."""
        return self._read_sessions()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read session whose refusals are kept on record all the same.

        A monitor opening a study they are not assigned to is refused while only reading;
        the refusal (a :class:`RecordedRefusal`) is then committed on its own.
        """
        try:
            with self.read_session() as session:
                yield session
        except RecordedRefusal as refusal:
            self.keep_on_record(refusal)
            raise

    def keep_on_record(self, refusal: RecordedRefusal) -> None:
        """Commit, in a transaction of its own, what ``refusal`` must leave on record."""
        with self._write_sessions() as session:
            try:
                self._begin_writing(session)
                refusal.record(session)
                session.commit()
            except SaDatabaseError as error:
                session.rollback()
                raise self.problem(error) from error

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One user action. Commits when the block ends, rolls back when it raises.

        A :class:`RecordedRefusal` is rolled back like any refusal, and then what it
        must leave on record (a failed sign-in, say) is committed on its own.
        """
        session = self._write_sessions()
        try:
            self._begin_writing(session)
            yield session
            session.commit()
        except RecordedRefusal as refusal:
            session.rollback()
            self.keep_on_record(refusal)
            raise
        except SaDatabaseError as error:
            session.rollback()
            raise self.problem(error) from error
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _begin_writing(self, session: Session) -> None:
        if not self.is_sqlite:
            # One writer at a time, as SQLite's BEGIN IMMEDIATE gives: the audit chain
            # stays one line and no two actions can deadlock on each other's rows.
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})

    def dispose(self) -> None:
        self.engine.dispose()


def backup_database(db: Database, destination: Path) -> Path:
    """An online, consistent copy of a SQLite database (SQLite's backup API).

    Safe while other workstations write: the copy is one committed state.
    """
    if not db.is_sqlite:
        raise DatabaseProblem(
            "A server database is backed up on the server (pg_dump); this command copies "
            "a workstation's SQLite file."
        )
    destination = destination.expanduser().resolve()
    if destination.exists():
        raise DatabaseProblem(f"{destination} already exists; choose a new file for the backup.")
    if not destination.parent.is_dir():
        raise DatabaseProblem(
            f"Cannot write the backup: the folder {destination.parent} does not exist."
        )
    raw = db.engine.raw_connection()
    try:
        source = raw.driver_connection
        if not isinstance(source, sqlite3.Connection):
            raise DatabaseProblem("This database driver cannot make an online backup.")
        target = sqlite3.connect(private_file(destination))
        try:
            source.backup(target)
        finally:
            target.close()
    except sqlite3.Error as error:
        destination.unlink(missing_ok=True)
        raise DatabaseProblem(f"The backup to {destination} failed: {error}.") from None
    finally:
        raw.close()
    return destination
