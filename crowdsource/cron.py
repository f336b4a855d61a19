"""Periodic jobs for production: `rq cron crowdsource.cron` (next to `flask worker`).

RQ's cron scheduler enqueues the sweep every SWEEP_INTERVAL_SECONDS (default 60) on the
default queue (``<RQ_QUEUE>-default``); a worker runs it. Several schedulers may run: the sweep
is safe to repeat.
"""

import os

from rq import cron

from crowdsource import outbox
from crowdsource.queue import run_job

cron.register(
    run_job,
    f"{os.environ.get('RQ_QUEUE', 'crowdsource')}-{outbox.DEFAULT}",
    args=("crowdsource.sweep:scheduled_sweep",),
    interval=int(os.environ.get("SWEEP_INTERVAL_SECONDS", "60")),
    name="sweep",
)
