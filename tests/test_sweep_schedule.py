"""The sweep under `rq cron`: each scheduled sweep leaves a record in Redis; while it is fresh,
requests do not sweep; once cron stops and it expires, requests sweep again; a Redis that
hangs breaks no request and stops no sweep (real Redis, and a server that never answers)."""

import datetime as dt
import time

import pytest
from rq.cron import CronScheduler

from crowdsource.db import transaction, utcnow
from crowdsource.sweep import FRESH_INTERVALS, scheduled_sweep_key
from crowdsource.tasks.models import TaskStatus
from tests.helpers import wait_until
from tests.servers import SilentServer


@pytest.fixture
def overdue_task(db, make_user, make_org, make_task, make_bid):
    """An open task with a bid whose bidding deadline has just passed (not swept yet)."""
    owner = make_user()
    task = make_task(owner, make_org(owner))
    make_bid(make_user(), task)
    with transaction():
        task.bid_deadline = utcnow() - dt.timedelta(minutes=1)
    return task


@pytest.fixture
def sweeping_on_access(app, monkeypatch):
    """Requests sweep whenever they may (every second at most), from a clean slate."""
    monkeypatch.setitem(app.config, "SWEEP_ON_ACCESS_SECONDS", 1)
    monkeypatch.delitem(app.extensions, "sweep", raising=False)

    def next_request_may_sweep():
        app.extensions.pop("sweep", None)

    return next_request_may_sweep


def status_of(db, task):
    db.session.refresh(task)
    return task.status


def test_rq_cron_runs_the_scheduled_sweep_which_sweeps_and_leaves_a_record(
    app, db, redis_queue, overdue_task, monkeypatch
):
    monkeypatch.setenv("RQ_QUEUE", redis_queue.name)
    monkeypatch.setitem(app.config, "SWEEP_INTERVAL_SECONDS", 60)
    scheduler = CronScheduler(connection=redis_queue.connection)
    scheduler.load_config_from_file("crowdsource.cron")
    scheduler.enqueue_jobs()
    assert len(redis_queue.jobs_of("crowdsource.sweep:scheduled_sweep")) == 1

    redis_queue.run()

    assert status_of(db, overdue_task) == TaskStatus.CLOSED
    key = scheduled_sweep_key(app)
    assert key.startswith(f"{redis_queue.name}:")
    assert 0 < redis_queue.connection.ttl(key) <= FRESH_INTERVALS * 60


def test_requests_leave_the_sweep_to_cron_and_take_it_back_when_cron_stops(
    app, client, db, redis_queue, overdue_task, sweeping_on_access
):
    connection = redis_queue.connection
    # A scheduled sweep ran a moment ago (of nothing yet: the deadline passed since).
    connection.set(scheduled_sweep_key(app), utcnow().isoformat(), ex=180)
    assert client.get("/").status_code == 200
    assert status_of(db, overdue_task) == TaskStatus.OPEN  # left to the scheduled sweep

    # cron stopped: no new record, and the last one expires.
    connection.pexpire(scheduled_sweep_key(app), 1)
    wait_until(lambda: not connection.exists(scheduled_sweep_key(app)), what="the expiry")
    sweeping_on_access()
    assert client.get("/").status_code == 200
    assert status_of(db, overdue_task) == TaskStatus.CLOSED


def test_without_redis_requests_sweep(app, client, db, overdue_task, sweeping_on_access):
    assert app.config["REDIS_URL"] is None
    assert client.get("/").status_code == 200
    assert status_of(db, overdue_task) == TaskStatus.CLOSED


@pytest.fixture
def hung_redis_url():
    """A server that accepts connections and never answers."""
    server = SilentServer()
    yield server.url
    server.close()


def test_a_hung_redis_costs_a_request_a_bounded_wait_and_the_request_sweeps(
    app, client, db, overdue_task, sweeping_on_access, hung_redis_url, monkeypatch
):
    monkeypatch.setitem(app.config, "REDIS_URL", hung_redis_url)
    monkeypatch.setitem(app.config, "REDIS_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setitem(app.config, "OUTBOX_RELAY_SECONDS", 0)
    for name in ("redis", "rq_queues", "redis_down_until"):
        monkeypatch.delitem(app.extensions, name, raising=False)
    started = time.monotonic()
    assert client.get("/").status_code == 200
    # One bounded wait for the record (then Redis counts as down; the sweep's jobs wait in
    # the outbox without asking it again).
    assert time.monotonic() - started < 5
    assert status_of(db, overdue_task) == TaskStatus.CLOSED
