"""The sweep: every time-based transition is found by a query, not by a scheduled job.

Run by `flask sweep` (once, or `--every N` seconds in production) and, where nothing else
runs it, at most every SWEEP_ON_ACCESS_SECONDS by an incoming request.
"""

import logging
import threading
import time

from flask import current_app, request

from crowdsource.db import transaction, utcnow

log = logging.getLogger(__name__)
_lock = threading.Lock()


def sweep_due(now=None):
    """Run every package's sweep in its own transaction; returns what each did."""
    from crowdsource.contracts import ratings
    from crowdsource.disputes import services as disputes
    from crowdsource.payments import card, escrow
    from crowdsource.tasks import services as tasks

    now = now or utcnow()
    with transaction():
        ended = tasks.sweep_due(now)
    with transaction():
        released = escrow.sweep_due(now)
    with transaction():
        reminded = escrow.remind_reviews(now)
    with transaction():
        cases = disputes.sweep_due(now)
    with transaction():
        ratings_published = ratings.sweep_due(now)
    with transaction():
        waiting_on_stripe = card.sweep_due(now)
    return {
        "tasks_ended": ended,
        "milestones_released": released,
        "review_reminders": reminded,
        **{f"disputes_{name}": count for name, count in cases.items()},
        "ratings_published": ratings_published,
        **waiting_on_stripe,
    }


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
        sweep_due()
    except Exception:
        log.exception("sweep on access failed")
    finally:
        _lock.release()
