"""Database engine and session factory (SQLite by default, PostgreSQL by URL)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker


IMMEDIATE = "guichet_immediate"  # execution option: a write transaction (SQLite: BEGIN IMMEDIATE)


def writing(engine: Engine) -> Engine:
    """The engine whose transactions write: on SQLite they take the write lock first (ignored elsewhere)."""
    return engine.execution_options(**{IMMEDIATE: True})


def create_tables(conn, metadata) -> None:
    """`metadata.create_all` inside the caller's transaction, safe when several processes do it at once.

    On PostgreSQL, two transactions creating the same table both pass the `checkfirst` test; the second
    then fails on the catalogue's unique index once the first commits. The creation runs in a savepoint:
    on that failure only the savepoint is rolled back, and the table the other process created is used.
    (On SQLite the write transaction, BEGIN IMMEDIATE, already serialises it.)"""
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    if conn.dialect.name == "sqlite":
        metadata.create_all(conn, checkfirst=True)
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
