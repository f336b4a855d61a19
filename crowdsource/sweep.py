"""The sweep: every time-based transition is found by a query, not by a scheduled job.

Run by `rq cron crowdsource.cron` in production (a worker runs :func:`scheduled_sweep` every
SWEEP_INTERVAL_SECONDS), by `flask sweep` (once, or `--every N` seconds) and, where nothing
else runs it, at most every SWEEP_ON_ACCESS_SECONDS by an incoming request.

Requests find out by themselves whether the scheduled sweep runs: each scheduled sweep leaves
a record in Redis that expires after :data:`FRESH_INTERVALS` sweep intervals. While it is
there, requests leave the sweep alone; once cron or the workers stop, the record expires and
requests sweep again. A Redis that fails or hangs costs a request at most the bounded
timeouts of crowdsource.queue.redis_connection, and the request then sweeps (the sweep is safe
to repeat).
"""

import logging
import threading
import time

from flask import current_app, request

from crowdsource import outbox
from crowdsource.bids import offers
from crowdsource.contracts import ratings
from crowdsource.db import transaction, utcnow
from crowdsource.disputes import services as disputes
from crowdsource.payments import card, escrow, transfers
from crowdsource.queue import redis_connection
from crowdsource.searches import services as searches
from crowdsource.tasks import services as tasks

log = logging.getLogger(__name__)
_lock = threading.Lock()

#: a scheduled sweep counts as running for this many SWEEP_INTERVAL_SECONDS after the last one
FRESH_INTERVALS = 3


def sweep_due(now=None):
    """Run every package's sweep in its own transaction; returns what each did."""
    now = now or utcnow()
    with transaction():
        ended = tasks.sweep_due(now)
    with transaction():
        offered = offers.sweep_due(now)
    with transaction():
        released = escrow.sweep_due(now)
    with transaction():
        reminded = escrow.remind_reviews(now)
    with transaction():
        transfers_due = transfers.sweep_due(now)
    with transaction():
        cases = disputes.sweep_due(now)
    with transaction():
        ratings_published = ratings.sweep_due(now)
    with transaction():
        waiting_on_stripe = card.sweep_due(now)
    with transaction():
        digests = searches.sweep_due(now)
    with transaction():
        jobs_purged = outbox.purge_sent(now)
    return {
        "tasks_ended": ended,
        **offered,
        "milestones_released": released,
        "review_reminders": reminded,
        **transfers_due,
        **{f"disputes_{name}": count for name, count in cases.items()},
        "ratings_published": ratings_published,
        **waiting_on_stripe,
        "saved_search_digests": digests,
        "outbox_rows_purged": jobs_purged,
    }


def scheduled_sweep():
    """The job `rq cron crowdsource.cron` enqueues: run the sweep, then record in Redis that a
    scheduled sweep ran, so that requests stop sweeping while the record is fresh."""
    result = sweep_due()
    app = current_app._get_current_object()
    seconds = FRESH_INTERVALS * max(1, app.config["SWEEP_INTERVAL_SECONDS"])
    _redis(app).set(scheduled_sweep_key(app), utcnow().isoformat(), ex=seconds)
    return result


def scheduled_sweep_key(app):
    """The Redis key of the record of the last scheduled sweep (under the queues' prefix)."""
    return f"{app.config['RQ_QUEUE']}:sweep:scheduled"


def scheduled_sweep_runs(app):
    """Whether a scheduled sweep ran within its last few intervals. False without Redis, and
    when Redis fails: then nobody knows, and the request sweeps."""
    if not app.config.get("REDIS_URL") or outbox.redis_down():
        return False
    try:
        return bool(_redis(app).exists(scheduled_sweep_key(app)))
    except Exception as error:  # redis' errors, and any other: never the request's problem
        outbox.mark_redis_down(error)
        return False


def _redis(app):
    return redis_connection(app)


def sweep_on_access():
    if request.endpoint in (None, "static", "bootstrap.static"):
        return
    app = current_app._get_current_object()
    interval = app.config["SWEEP_ON_ACCESS_SECONDS"]
    if interval <= 0:
        return
    state = app.extensions.setdefault("sweep", {"last": 0.0})
    if time.monotonic() - state["last"] < interval or not _lock.acquire(blocking=False):
        return
    try:
        state["last"] = time.monotonic()
        if not scheduled_sweep_runs(app):
            sweep_due()
    except Exception:
        log.exception("sweep on access failed")
    finally:
        _lock.release()
