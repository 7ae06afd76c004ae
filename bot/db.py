"""Database engine and session factory (SQLite by default, PostgreSQL by URL)."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Set, Tuple

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker


IMMEDIATE = "guichet_immediate"  # execution option: a write transaction (SQLite: BEGIN IMMEDIATE)


def writing(engine: Engine) -> Engine:
    """The engine whose transactions write: on SQLite they take the write lock first (ignored elsewhere)."""
    return engine.execution_options(**{IMMEDIATE: True})


_CREATED: Set[Tuple[str, int]] = set()  # (SQLite file, metadata) whose tables this process has created
_CREATING = threading.Lock()


def create_tables(conn, metadata) -> None:
    """`metadata.create_all` for the caller's connection, safe when several threads or processes do it at once.

    On PostgreSQL, two transactions creating the same table both pass the `checkfirst` test; the second
    then fails on the catalogue's unique index once the first commits. The creation runs in a savepoint:
    on that failure only the savepoint is rolled back, and the table the other process created is used.

    On SQLite, a deferred transaction that reads the schema and then creates a table fails at once with
    "database is locked" when another connection did the same meanwhile (neither can upgrade its lock).
    The tables are therefore created once per process and file, in a write transaction of their own
    (BEGIN IMMEDIATE, which waits for the lock), before the caller's transaction reads anything. A
    caller already holding the write lock creates them on its own connection."""
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    if conn.dialect.name == "sqlite":
        database = conn.engine.url.database
        if not database or database == ":memory:" or conn.get_execution_options().get(IMMEDIATE):
            metadata.create_all(conn, checkfirst=True)
            return
        key = (str(Path(database).resolve()), id(metadata))
        if key in _CREATED:
            return
        with _CREATING:
            if key not in _CREATED:
                with writing(conn.engine).connect() as own, own.begin():
                    metadata.create_all(own, checkfirst=True)
                _CREATED.add(key)
        return
    try:
        with conn.begin_nested():
            metadata.create_all(conn, checkfirst=True)
    except (IntegrityError, ProgrammingError):
        pass  # created meanwhile by another process


class DatabaseError(RuntimeError):
    """The database cannot be reached or is not initialised."""


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, future=True)
        _make_sqlite_transactional(engine)
        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


def _make_sqlite_transactional(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, emit BEGIN, so that DDL is transactional too."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - driver hook
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # pragma: no cover - driver hook
        # `immediate`: the transaction takes the write lock at once (it waits for it, within the busy
        # timeout), instead of failing with "database is locked" when a read upgrades to a write.
        immediate = connection.get_execution_options().get(IMMEDIATE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)
