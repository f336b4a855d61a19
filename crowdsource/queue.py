"""Background jobs: RQ on Redis when ``REDIS_URL`` is set, inline execution otherwise — the
queues (lanes), the Redis connection, and the entry point every job runs through.

Jobs are enqueued by dotted name with plain arguments (ids) *inside* the transaction of the
action that causes them: :func:`crowdsource.outbox.enqueue` writes a row of the outbox, which
is handed to RQ here — or run inline — once that transaction has committed, and relayed later
when Redis was unavailable. A job never runs for a rolled-back action and is never lost for a
committed one.

Each job runs inside an application context: the current one when there is one (inline mode,
tests), else that of the app the worker process built once (crowdsource.worker).
"""

import importlib

from flask import current_app, has_app_context

_worker_app = None

#: the queues, in the order a worker takes them: money first, mail last
PAYMENTS, DEFAULT, MAIL = "payments", "default", "mail"
LANES = (PAYMENTS, DEFAULT, MAIL)


def redis_connection(app=None):
    """The app's Redis client: connecting and every command bounded by REDIS_TIMEOUT_SECONDS,
    so that a Redis that hangs costs a bounded wait, not a hung request."""
    from redis import Redis

    app = app or current_app._get_current_object()
    connection = app.extensions.get("redis")
    if connection is None:
        timeout = app.config["REDIS_TIMEOUT_SECONDS"]
        connection = Redis.from_url(
            app.config["REDIS_URL"],
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry_on_timeout=False,
        )
        app.extensions["redis"] = connection
    return connection


def queue_name(lane, app=None):
    app = app or current_app
    return f"{app.config['RQ_QUEUE']}-{lane}"


def get_queue(lane=DEFAULT):
    """The RQ queue of ``lane`` (only when ``REDIS_URL`` is set)."""
    from rq import Queue

    app = current_app._get_current_object()
    queues = app.extensions.setdefault("rq_queues", {})
    if lane not in queues:
        queues[lane] = Queue(queue_name(lane, app), connection=redis_connection(app))
    return queues[lane]


def all_queues():
    """The queues in the order workers take them."""
    return [get_queue(lane) for lane in LANES]


def run_job(job_path, *args):
    """Entry point of every job: resolve ``job_path`` and call it inside an app context."""
    function = _resolve(job_path)
    if has_app_context():
        return function(*args)
    with _app_for_worker().app_context():
        return function(*args)


def _resolve(job_path):
    module_name, _, function_name = job_path.partition(":")
    return getattr(importlib.import_module(module_name), function_name)


def set_worker_app(app):
    """The app jobs of this process run in (built once by the worker, before it forks)."""
    global _worker_app
    _worker_app = app


def _app_for_worker():
    global _worker_app
    if _worker_app is None:
        from crowdsource import create_app

        _worker_app = create_app()
    return _worker_app
