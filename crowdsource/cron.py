"""Periodic jobs for production: `rq cron crowdsource.cron` (next to `rq worker`).

RQ's cron scheduler enqueues the sweep every SWEEP_INTERVAL_SECONDS (default 60) on the
RQ_QUEUE queue; a worker runs it. Several schedulers may run: the sweep is safe to repeat.
"""

import os

from rq import cron

from crowdsource.queue import run_job

cron.register(
    run_job,
    os.environ.get("RQ_QUEUE", "crowdsource"),
    args=("crowdsource.sweep:sweep_due",),
    interval=int(os.environ.get("SWEEP_INTERVAL_SECONDS", "60")),
    name="sweep",
)
