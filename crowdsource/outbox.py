"""The transactional outbox: every background job is first a row, written in the transaction
of the action that causes it, so that a job exists exactly when its action committed.

How a row becomes a job:

1. **Right after the commit** (:func:`push_after_commit`), the process that wrote it hands it to
   RQ (or, without Redis, runs it inline) and marks it sent. The row was written *claimed* for
   :data:`LEASE_SECONDS`, so no relay takes it meanwhile.
2. **The relay** (:func:`relay`) takes rows that are due — never claimed, or whose claim lapsed
   because the process died or Redis refused — claims them in one short transaction, pushes
   them outside any transaction (no row lock or SQLite write lock is held while Redis is
   asked) and marks them sent. The worker runs it between jobs; every app process runs it after
   a response at most every ``OUTBOX_RELAY_SECONDS``, as a fallback.

A row survives any Redis outage: a push that fails releases the claim and records the error;
the next relay after Redis returns sends it. Pushing twice is possible (Redis accepted, then
the process died before marking the row), and harmless: RQ's job id is fixed with the row
(``rq_job_id``), the relay asks Redis whether that job exists before pushing it again, and
every job is idempotent anyway.

While Redis fails, the processes stop asking it for ``REDIS_RETRY_SECONDS`` (:func:`redis_down`):
a user action then costs no Redis round trip at all, and at most one action per process and
period waits for the bounded connect and socket timeouts (``REDIS_TIMEOUT_SECONDS``).
"""

import datetime as dt
import logging
import time
import uuid

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import orm

from crowdsource import queue as jobs
from crowdsource.db import (
    UTCDateTime,
    after_commit,
    db,
    in_transaction_block,
    lock_all,
    transaction,
    utcnow,
)

log = logging.getLogger(__name__)

#: the queues (lanes) a job may go to: queue.LANES, named here for those who enqueue
PAYMENTS, DEFAULT, MAIL, LANES = jobs.PAYMENTS, jobs.DEFAULT, jobs.MAIL, jobs.LANES

#: how long the process that wrote a row, or the relay that claimed it, has to push it
LEASE_SECONDS = 30
#: rows the relay takes per run
RELAY_BATCH = 500


class OutboxJob(db.Model):
    """A job to run: its function's dotted path and plain (JSON) arguments."""

    __tablename__ = "job_outbox"
    __table_args__ = (sa.Index("ix_job_outbox_sent_at_claimed_until", "sent_at", "claimed_until"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    job_path: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    args: orm.Mapped[list] = orm.mapped_column(sa.JSON, default=list)
    #: one of LANES
    queue: orm.Mapped[str] = orm.mapped_column(sa.String(20), default=DEFAULT)
    #: seconds between RQ's retries when the job fails or its worker dies
    retry_intervals: orm.Mapped[list | None] = orm.mapped_column(sa.JSON)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    #: until then, the process that claimed the row is pushing it
    claimed_until: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: when RQ accepted it (or, without Redis, when it ran); NULL while it waits
    sent_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: the RQ job's id: random (several databases may share a Redis), fixed with the row, so
    #: that a second push of the row is recognised
    rq_job_id: orm.Mapped[str] = orm.mapped_column(sa.String(40), default=lambda: uuid.uuid4().hex)
    attempts: orm.Mapped[int] = orm.mapped_column(default=0)
    last_error: orm.Mapped[str | None] = orm.mapped_column(sa.String(500))

    @property
    def description(self):
        return f"{self.job_path}{tuple(self.args)!r}"


def enqueue(job_path, *args, queue=DEFAULT, retry_intervals=None):
    """Run the job ``job_path`` (``"package.module:function"``) with ``args`` in the background,
    once the current transaction commits, on the queue ``queue`` (one of LANES).

    With ``REDIS_URL`` unset the job runs in this process right after the commit; a failure is
    logged, as a worker would, and does not reach the caller (the sweep retries what jobs left
    undone). With RQ, a failing job — or one whose worker died — is retried after each of
    ``retry_intervals`` seconds.
    """
    return add(job_path, args, queue=queue, retry_intervals=retry_intervals)


def add(job_path, args, queue=DEFAULT, retry_intervals=None):
    """Write the job as a row of the current transaction (or of one of its own outside a
    ``transaction()`` block); it is pushed once that transaction commits."""
    if queue not in LANES:
        raise ValueError(f"unknown queue {queue!r}")
    if not in_transaction_block():
        with transaction():
            return add(job_path, args, queue, retry_intervals)
    pushing_now = not redis_down()
    row = OutboxJob(
        job_path=job_path,
        args=list(args),
        queue=queue,
        retry_intervals=list(retry_intervals) if retry_intervals else None,
        claimed_until=utcnow() + dt.timedelta(seconds=LEASE_SECONDS) if pushing_now else None,
    )
    db.session.add(row)
    db.session.flush()
    if pushing_now:
        after_commit(push_after_commit, _Pending.of(row))
    return row


class _Pending:
    """What pushing a row needs, read before its transaction ends (the row object is expired
    by the commit; reading it again would cost a query)."""

    __slots__ = ("args", "id", "job_path", "queue", "retry_intervals", "rq_job_id")

    @classmethod
    def of(cls, row):
        pending = cls()
        pending.id, pending.rq_job_id = row.id, row.rq_job_id
        pending.job_path, pending.args = row.job_path, list(row.args)
        pending.queue, pending.retry_intervals = row.queue, row.retry_intervals
        return pending


def push_after_commit(pending):
    """The fast path: push the row its own transaction just committed."""
    _push_all([pending], check_existing=False)


def relay(now=None, limit=RELAY_BATCH):
    """Push the rows that are due (unclaimed, or whose claim lapsed); returns how many were
    sent. Safe to run in several processes at once: each row is claimed by one of them."""
    now = now or utcnow()
    with transaction():
        rows = lock_all(
            sa.select(OutboxJob)
            .where(
                OutboxJob.sent_at.is_(None),
                sa.or_(OutboxJob.claimed_until.is_(None), OutboxJob.claimed_until < now),
            )
            .order_by(OutboxJob.id)
            .limit(limit),
            skip_locked=True,
        )
        for row in rows:
            row.claimed_until = now + dt.timedelta(seconds=LEASE_SECONDS)
        pending = [_Pending.of(row) for row in rows]
    if not pending:
        return 0
    return _push_all(pending, check_existing=True)


def _push_all(pending, check_existing):
    """Push each row in order; stop at the first Redis failure (the others would fail too) and
    release the claims of what was not pushed. Returns the number sent."""
    sent, error = [], None
    for item in pending:
        try:
            _push(item, check_existing)
        except _RedisUnavailable as failure:
            error = failure
            break
        sent.append(item.id)
    unsent = [item.id for item in pending[len(sent) :]]
    with transaction():
        if sent:
            db.session.execute(
                sa.update(OutboxJob)
                .where(OutboxJob.id.in_(sent), OutboxJob.sent_at.is_(None))
                .values(sent_at=utcnow(), attempts=OutboxJob.attempts + 1)
            )
        if unsent:
            db.session.execute(
                sa.update(OutboxJob)
                .where(OutboxJob.id.in_(unsent), OutboxJob.sent_at.is_(None))
                .values(
                    claimed_until=None,
                    attempts=OutboxJob.attempts + 1,
                    last_error=str(error)[:500],
                )
            )
    return len(sent)


class _RedisUnavailable(Exception):
    pass


def _push(item, check_existing):
    """Hand one row to RQ (its job id is the row's) or, without Redis, run it here."""
    if not current_app.config.get("REDIS_URL"):
        try:
            jobs.run_job(item.job_path, *item.args)
        except Exception:
            # As a worker would: logged; the sweep retries what jobs left undone.
            log.exception("inline job %s%r failed", item.job_path, tuple(item.args))
        return
    import redis
    from rq import Retry
    from rq.job import Job

    job_id = item.rq_job_id
    rq_queue = jobs.get_queue(item.queue)
    options = {"job_id": job_id, "description": f"{item.job_path}{tuple(item.args)!r}"}
    if item.retry_intervals:
        options["retry"] = Retry(max=len(item.retry_intervals), interval=item.retry_intervals)
    try:
        if check_existing and Job.exists(job_id, connection=rq_queue.connection):
            return  # pushed before by a process that died before marking the row
        rq_queue.enqueue(jobs.run_job, item.job_path, *item.args, **options)
    except redis.exceptions.RedisError as error:
        mark_redis_down(error)
        raise _RedisUnavailable(f"{type(error).__name__}: {error}") from error


# --- Redis health, per process ----------------------------------------------------------


def redis_down():
    """Whether this process saw Redis fail less than REDIS_RETRY_SECONDS ago (it then leaves
    pushing to the relay instead of making a user wait for a timeout)."""
    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        return False
    return time.monotonic() < app.extensions.get("redis_down_until", 0.0)


def mark_redis_down(error):
    app = current_app._get_current_object()
    if not redis_down():
        log.warning("Redis unavailable (%s); jobs wait in the outbox", error)
    app.extensions["redis_down_until"] = time.monotonic() + app.config["REDIS_RETRY_SECONDS"]


# --- the relay on access ----------------------------------------------------------------


def relay_after_response(response):
    """Every OUTBOX_RELAY_SECONDS, once the response has been sent, relay what waits (the
    fallback where no worker runs the relay, or while workers are down)."""
    app = current_app._get_current_object()
    interval = app.config["OUTBOX_RELAY_SECONDS"]
    if interval <= 0:
        return response
    state = app.extensions.setdefault("outbox_relay", {"last": time.monotonic()})
    if time.monotonic() - state["last"] < interval:
        return response
    state["last"] = time.monotonic()

    def run():
        with app.app_context():
            try:
                relay()
            except Exception:
                log.exception("outbox relay after a response failed")

    response.call_on_close(run)
    return response


# --- what the admin sees ----------------------------------------------------------------


def waiting(limit=50):
    """``(count, oldest created_at, rows)`` of the jobs not yet handed to the queue."""
    unsent = OutboxJob.sent_at.is_(None)
    count, oldest = db.session.execute(
        sa.select(sa.func.count(OutboxJob.id), sa.func.min(OutboxJob.created_at)).where(unsent)
    ).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)  # an aggregate bypasses the column's type
    rows = db.session.scalars(
        sa.select(OutboxJob).where(unsent).order_by(OutboxJob.id).limit(limit)
    ).all()
    return count, oldest, rows


#: days a sent row is kept (for the admin and the load benchmark's delays), then purged
KEEP_SENT_DAYS = 7


def purge_sent(now=None, keep_days=KEEP_SENT_DAYS):
    """Delete rows sent more than ``keep_days`` ago (run by the sweep)."""
    cutoff = (now or utcnow()) - dt.timedelta(days=keep_days)
    result = db.session.execute(sa.delete(OutboxJob).where(OutboxJob.sent_at < cutoff))
    return result.rowcount
