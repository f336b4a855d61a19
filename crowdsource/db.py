"""The database: the SQLAlchemy object, the Base model, UTC times, transaction() and after_commit().

One user action is one transaction, owned by the view or the job that calls the services.
Side effects (enqueueing a job, sending mail) are registered with :func:`after_commit` and run
only once the commit succeeded.

On SQLite a transaction that writes takes the write lock when it begins (``BEGIN IMMEDIATE``):
one that reads first and then asks for the lock cannot wait for it (another writer has changed
what it read), so the busy timeout never applies and concurrent writers fail at once with
"database is locked". The write transactions are every ``with transaction():`` block (the only
way anything commits, whatever the request's method) and every transaction outside a request
(jobs run by a worker, CLI commands). Reads in a request outside a block begin deferred (in WAL
mode readers need no lock), and a block first ends the deferred transaction of the reads before
it: the lock is held for the action only, not while a view loads, validates and renders, nor
while it calls Stripe. What a service is about to change it reads again under the lock, as
``lock()`` does on PostgreSQL.

Every row lock is taken through the helpers of this module (``lock``, ``relock``,
``lock_one``, ``lock_all``): no other module writes ``with_for_update``.
"""

import contextvars
import datetime as dt
import enum
import logging
import sqlite3
from contextlib import contextmanager

import flask_sqlalchemy
import sqlalchemy as sa
from flask import has_request_context
from sqlalchemy import event, orm

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(orm.DeclarativeBase):
    """Base of every model; a stable naming convention keeps migrations portable."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


#: the last page a list serves; past it, pages are empty like any page past the end (the
#: offset of page 10**20 does not fit the database's integers)
MAX_PAGE = 100_000


class SQLAlchemy(flask_sqlalchemy.SQLAlchemy):
    def paginate(self, select, *, page=None, **kwargs):
        """Flask-SQLAlchemy's paginate, with a page number typed into the address bounded."""
        if page is not None:
            page = min(page, MAX_PAGE)
        return super().paginate(select, page=page, **kwargs)


db = SQLAlchemy(model_class=Base)


def utcnow():
    """The current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A point in time, stored in UTC and always read back timezone-aware.

    SQLite keeps no time zone, so values are stored there as naive UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware datetime in UTC")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


#: translated labels of enum members, by enum class (see LabelledEnum)
ENUM_LABELS = {}


class LabelledEnum(enum.StrEnum):
    """An enum whose members have a translated ``label``, registered with set_labels()."""

    @property
    def label(self):
        return ENUM_LABELS[type(self)][self]


def set_labels(enum_class, labels):
    """Register the labels of every member of ``enum_class``."""
    assert set(labels) == set(enum_class), f"labels of {enum_class.__name__} incomplete"
    ENUM_LABELS[enum_class] = labels


def enum_column_type(enum_class, name):
    """A portable enum type: a VARCHAR with a named CHECK constraint of the enum's values."""
    return sa.Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum_class),
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


@event.listens_for(sa.engine.Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys; WAL lets readers and one writer work side by side.

    The sqlite3 module starts transactions only before data changes, not before a SAVEPOINT,
    so a savepoint first in a transaction would commit on release. SQLAlchemy's recipe: let
    the driver do nothing and begin every transaction ourselves (below)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # Writers queue for the lock; on a loaded machine 50 of them at once need more than
        # 10 s to pass (tests/test_concurrent_users.py), and waiting beats an error page.
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()


#: True inside a ``with transaction():`` block
_in_transaction_block = contextvars.ContextVar("in_transaction_block", default=False)


def in_transaction_block():
    """True inside a ``with transaction():`` block (its commit is still to come)."""
    return _in_transaction_block.get()


def _begins_writing():
    """True when a transaction beginning now may write (see the module's docstring)."""
    return _in_transaction_block.get() or not has_request_context()


@event.listens_for(sa.engine.Engine, "begin")
def _begin_sqlite(connection):
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _begins_writing() else "BEGIN")


def _end_deferred_reads(session):
    """End the deferred transaction that reads before the block began on SQLite, so that the
    block's transaction begins IMMEDIATE. Nothing was written in it: only transaction()
    commits, and this is its start."""
    if _begins_writing() or not session.in_transaction():
        return
    if session.get_bind().dialect.name == "sqlite":
        session.commit()


@contextmanager
def transaction():
    """Run the block as one database transaction: commit on success, roll back on error.

    On SQLite it holds the write lock from its start (waiting for it up to the busy timeout).
    Callbacks registered with :func:`after_commit` run after the commit has returned, when
    the session can be used again (an inline job opens a transaction of its own).
    """
    session = db.session
    outermost = not _in_transaction_block.get()
    if outermost:
        _end_deferred_reads(session())
    token = _in_transaction_block.set(True)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _in_transaction_block.reset(token)
    _run_committed_callbacks(session)


# --- row locks -----------------------------------------------------------------------------
# Every row lock of the application is taken here: ``lock`` and ``relock`` for one object,
# ``lock_one`` and ``lock_all`` for what a statement selects. SQLite ignores ``FOR UPDATE``
# (its write transaction already excludes other writers; see the module's docstring), so
# concurrency tests run on PostgreSQL.


def locking(statement, skip_locked=False, of=None, read=False):
    """``statement`` selecting its rows locked for the rest of the transaction, as stored now.

    ``FOR UPDATE``, or with ``read`` ``FOR SHARE`` (others may share-lock the rows too, but
    nobody changes them); ``skip_locked`` leaves out rows another transaction holds (a sweep
    leaves them to that one); ``of`` names the table(s) to lock when the statement joins
    several."""
    return statement.with_for_update(skip_locked=skip_locked, of=of, read=read).execution_options(
        populate_existing=True
    )


def lock_one(statement, skip_locked=False, of=None, read=False):
    """The first row (its first column, as ``Session.scalar``) of ``statement``, locked as
    :func:`locking` says; None if there is none."""
    return db.session.scalar(locking(statement, skip_locked=skip_locked, of=of, read=read))


def lock_all(statement, skip_locked=False, of=None, read=False):
    """Every row (its first column, as ``Session.scalars``) of ``statement``, locked as
    :func:`locking` says, as a list."""
    return list(db.session.scalars(locking(statement, skip_locked=skip_locked, of=of, read=read)))


def lock(model, object_id, skip_locked=False, read=False):
    """The row of ``model`` with id ``object_id`` as stored now, locked for the rest of the
    transaction (``SELECT … FOR UPDATE``; on SQLite the write transaction already excludes
    other writers), or None if there is none — or, with ``skip_locked``, if another
    transaction holds it (a sweep leaves it to that one)."""
    statement = sa.select(model).where(model.id == object_id)
    return db.session.scalars(locking(statement, skip_locked=skip_locked, read=read)).one_or_none()


def relock(obj, read=False):
    """``obj`` read again as stored now and locked for the rest of the transaction (as
    :func:`lock`; with ``read`` a shared lock: others may read-lock it too, nobody changes
    it); returns it."""
    db.session.refresh(obj, with_for_update={"read": True} if read else True)
    return obj


def after_commit(callback, *args, **kwargs):
    """Run ``callback(*args, **kwargs)`` once the current transaction has committed.

    If the transaction rolls back, the callback is dropped.
    """
    db.session.info.setdefault("pending_callbacks", []).append((callback, args, kwargs))


def after_rollback(callback, *args, **kwargs):
    """Run ``callback(*args, **kwargs)`` if the current transaction rolls back: to undo a side
    effect made during it (a file written for a row that is never stored)."""
    db.session.info.setdefault("rollback_callbacks", []).append((callback, args, kwargs))


def _run_committed_callbacks(session):
    callbacks = session.info.pop("committed_callbacks", [])
    for callback, args, kwargs in callbacks:
        try:
            callback(*args, **kwargs)
        except Exception:
            # The data is committed; a failed side effect must not turn success into an error.
            log.exception("after-commit callback %r failed", callback)


@event.listens_for(orm.Session, "after_commit")
def _mark_callbacks_committed(session):
    # SQLAlchemy also fires after_commit when a savepoint is released; only the outermost
    # commit makes the callbacks due (the transaction around the savepoint may still roll back).
    if session.in_nested_transaction():
        return
    pending = session.info.pop("pending_callbacks", [])
    session.info.setdefault("committed_callbacks", []).extend(pending)
    session.info.pop("rollback_callbacks", None)


@event.listens_for(orm.Session, "after_soft_rollback")
def _drop_pending_callbacks(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop("pending_callbacks", None)
        for callback, args, kwargs in session.info.pop("rollback_callbacks", []):
            try:
                callback(*args, **kwargs)
            except Exception:
                log.exception("after-rollback callback %r failed", callback)
