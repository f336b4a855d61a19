"""Jobs per second of `flask worker` (the app built once, before the horses fork) beside RQ's
stock `rq worker` (each horse builds the app for its job), on the same queue, in one run.

    .venv/bin/python bench/jobs.py                 # 300 jobs for each worker
    .venv/bin/python bench/jobs.py --jobs 1000

The jobs are real mail jobs of ours (``send_notification_email``) for notifications that need
no mail, so each job does its database reads and nothing else: what is timed is what a worker
adds to every job. The queue lives on a private ``redis-server`` the script starts on a free
port; the database is a SQLite file built by the migrations. Prints seconds per job for each
worker and their ratio; exits 1 if `flask worker` is not faster.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


#: the queues `flask worker` takes with RQ_QUEUE=bench, in its order
QUEUES = ["bench-payments", "bench-default", "bench-mail"]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=300)
    options = parser.parse_args()
    if shutil.which("redis-server") is None:
        print("redis-server is not installed", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    port = free_port()
    redis_server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=work,
        stdout=subprocess.DEVNULL,
    )
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{work}/bench.db",
        REDIS_URL=f"redis://127.0.0.1:{port}/0",
        RQ_QUEUE="bench",
        MAIL_BACKEND="dummy",
        FLASK_APP="crowdsource",
        SWEEP_ON_ACCESS_SECONDS="0",
    )
    os.environ.update(env)
    try:
        wait_for_redis(env["REDIS_URL"])
        subprocess.run([bin_of("flask"), "db", "upgrade"], env=env, check=True, cwd=ROOT)
        results = {}
        for name, command in (
            ("flask worker", [bin_of("flask"), "worker", "--burst"]),
            (
                "rq worker",
                [
                    bin_of("rq"),
                    "worker",
                    "--burst",
                    "--url",
                    env["REDIS_URL"],
                    "bench-payments",
                    "bench-default",
                    "bench-mail",
                ],
            ),
        ):
            enqueue_jobs(options.jobs)
            started = time.perf_counter()
            subprocess.run(command, env=env, check=True, cwd=ROOT, capture_output=True)
            results[name] = (time.perf_counter() - started) / options.jobs
            assert_all_done(options.jobs)
        ours, stock = results["flask worker"], results["rq worker"]
        print(f"jobs per worker run: {options.jobs}")
        print(f"flask worker: {ours * 1000:.1f} ms per job ({1 / ours:.0f} jobs/s)")
        print(f"rq worker (app built by every horse): {stock * 1000:.1f} ms per job")
        print(f"ratio flask worker / rq worker: {ours / stock:.3f}")
        return 0 if ours < stock else 1
    finally:
        redis_server.kill()
        redis_server.wait()
        shutil.rmtree(work, ignore_errors=True)


def bin_of(name):
    return str(Path(sys.executable).parent / name)


def wait_for_redis(url, timeout=30):
    import redis

    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return
        except redis.exceptions.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def app():
    from crowdsource import create_app

    return create_app()


_app = None


def enqueue_jobs(count):
    """``count`` mail jobs, written to the outbox and pushed to RQ as a user action would."""
    global _app
    import sqlalchemy as sa

    from crowdsource import outbox
    from crowdsource.accounts import services
    from crowdsource.db import db, transaction
    from crowdsource.notifications.models import Kind, Notification

    _app = _app or app()
    with _app.app_context(), transaction():
        user = db.session.scalar(sa.select(services.User).limit(1))
        if user is None:
            user = services.register_user(
                email="bench@example.com",
                password="a long bench password 42",
                display_name="Bench",
            )
        user.email_notifications = False  # nothing to send: the job reads and returns
        db.session.flush()
        first = db.session.scalar(sa.select(sa.func.max(Notification.id))) or 0
        db.session.execute(
            sa.insert(Notification),
            [{"user_id": user.id, "kind": Kind.BID_SUBMITTED, "params": {}, "link": "/"}] * count,
        )
        ids = db.session.scalars(
            sa.select(Notification.id).where(Notification.id > first).order_by(Notification.id)
        ).all()
        for notification_id in ids:
            outbox.add(
                "crowdsource.notifications.jobs:send_notification_email",
                [notification_id],
                queue=outbox.MAIL,
            )


def assert_all_done(count):
    from crowdsource.queue import all_queues

    with _app.app_context():
        for queue in all_queues():
            assert queue.count == 0, f"{queue.name} still has {queue.count} jobs"
            assert queue.failed_job_registry.count == 0, f"jobs failed on {queue.name}"


if __name__ == "__main__":
    sys.exit(main())
