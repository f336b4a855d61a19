"""`flask worker`: the RQ worker of production (``make worker``).

The app is built once, by the worker process, before it forks: each job runs in a work horse
forked from it, so a job starts in milliseconds instead of importing and configuring the app
again (the isolation of a fresh process per job is kept; a horse that crashes or is killed
takes only its job with it). A horse must not use the database connections it inherited from
the worker (they belong to the parent): it drops them without closing them and opens its own.

The worker takes the queues in the order of crowdsource.outbox.LANES — a payment job waiting
behind a thousand mail jobs is the next one taken — and, between jobs, relays the outbox rows
that wait (crowdsource.outbox.relay), so jobs Redis refused reach the queue once it answers.

A job whose worker died (its heartbeat stopped) is found by the next maintenance of any worker
(every RQ_MAINTENANCE_SECONDS) once RQ_ABANDONED_SECONDS passed, and retried like a failure.
"""

import logging
import time

import click
from flask import current_app
from flask.cli import with_appcontext
from rq import Worker as RQWorker

from crowdsource import outbox
from crowdsource.db import db
from crowdsource.queue import all_queues, redis_connection, set_worker_app

log = logging.getLogger(__name__)

#: seconds between the worker's relays of the outbox (and its longest wait for a job)
RELAY_SECONDS = 1


class Worker(RQWorker):
    """A forking RQ worker of one prebuilt app that relays the outbox between jobs."""

    #: reconnect quickly once Redis is back (RQ's default waits up to 60 s)
    max_connection_wait_time = 5.0

    def __init__(self, queues, app, **options):
        self.app = app
        self.abandoned_seconds = app.config["RQ_ABANDONED_SECONDS"]
        options.setdefault("maintenance_interval", app.config["RQ_MAINTENANCE_SECONDS"])
        options.setdefault("job_monitoring_interval", max(1, self.abandoned_seconds // 3))
        super().__init__(queues, **options)
        self._next_relay = 0.0

    @property
    def dequeue_timeout(self):
        # Wait for a job at most this long, then relay and wait again.
        return RELAY_SECONDS

    @property
    def should_run_maintenance_tasks(self):
        # Asked before every wait for a job: the moment to relay the outbox as well.
        self.relay_outbox()
        return super().should_run_maintenance_tasks

    def relay_outbox(self):
        if time.monotonic() < self._next_relay:
            return
        self._next_relay = time.monotonic() + RELAY_SECONDS
        with self.app.app_context():
            try:
                outbox.relay()
            except Exception:
                log.exception("outbox relay failed")
            finally:
                db.session.remove()

    def get_heartbeat_ttl(self, job, working_time=0.0):
        # RQ adds a fixed minute to the monitoring interval; a dead worker's job would stay
        # "started" that long. The grace here is the setting's.
        interval = self.job_monitoring_interval
        if job.timeout and job.timeout > 0:
            interval = min(job.timeout - working_time, interval)
        return int(interval) + max(1, self.abandoned_seconds - self.job_monitoring_interval)

    def main_work_horse(self, job, queue):
        # The horse's first act: forget the parent's database connections (closing them would
        # close the parent's sockets too) so that the job opens its own.
        with self.app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)
        return super().main_work_horse(job, queue)


def run(app, burst=False, name=None, with_scheduler=True):
    """Run a worker of ``app`` over every queue; returns whether it ran a job."""
    set_worker_app(app)
    with app.app_context():
        queues = all_queues()
        connection = redis_connection(app)
        db.session.remove()
    worker = Worker(queues, app, connection=connection, name=name)
    return worker.work(burst=burst, with_scheduler=with_scheduler)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then exit.")
@click.option("--name", default=None, help="The worker's name (default: a random one).")
@with_appcontext
def worker_command(burst, name):
    """Run background jobs (REDIS_URL must be set): payments first, then other jobs, then mail."""
    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: without Redis, jobs run inline.")
    click.echo(
        "Worker on "
        + ", ".join(queue.name for queue in _queues_of(app))
        + " (in this order), relaying the outbox"
    )
    run(app, burst=burst, name=name)


def _queues_of(app):
    with app.app_context():
        return all_queues()
