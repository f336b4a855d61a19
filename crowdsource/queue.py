"""Background jobs: RQ on Redis when ``REDIS_URL`` is set, inline execution otherwise.

Jobs are enqueued by dotted name with plain arguments (ids), always after the commit that
created the rows they read (see :func:`crowdsource.db.after_commit`). Each job runs inside an
application context: the current one when there is one (inline mode, tests), else one app that
the worker process builds once.
"""

import importlib
import logging

from flask import current_app, has_app_context

log = logging.getLogger(__name__)

_worker_app = None


def enqueue(job_path, *args, retry_intervals=None):
    """Run the job ``job_path`` (``"package.module:function"``) with ``args`` in the background.

    With ``REDIS_URL`` unset the job runs at once, in this process; a failure is logged, as a
    worker would, and does not reach the caller (the sweep retries what jobs left undone).
    With RQ, a failing job is retried after each of ``retry_intervals`` seconds.
    """
    if current_app.config.get("REDIS_URL"):
        options = {}
        if retry_intervals:
            from rq import Retry

            options["retry"] = Retry(max=len(retry_intervals), interval=list(retry_intervals))
        return get_queue().enqueue(run_job, job_path, *args, **options)
    try:
        run_job(job_path, *args)
    except Exception:
        log.exception("inline job %s%r failed", job_path, args)
    return None


def get_queue():
    """The RQ queue of this app (only when ``REDIS_URL`` is set)."""
    from redis import Redis
    from rq import Queue

    app = current_app._get_current_object()
    queue = app.extensions.get("rq_queue")
    if queue is None:
        connection = Redis.from_url(app.config["REDIS_URL"])
        queue = Queue(app.config["RQ_QUEUE"], connection=connection)
        app.extensions["rq_queue"] = queue
    return queue


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


def _app_for_worker():
    global _worker_app
    if _worker_app is None:
        from crowdsource import create_app

        _worker_app = create_app()
    return _worker_app
