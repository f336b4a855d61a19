"""Load and deployment-shape benchmark (issue 12): the production process layout under 200
concurrent users, optionally with Redis stopped in the middle.

    .venv/bin/python bench/load.py                                  # 200 clients, 60 s
    .venv/bin/python bench/load.py --clients 50 --seconds 20
    .venv/bin/python bench/load.py --redis-outage 20                # Redis down 20 s mid-run

It creates a PostgreSQL database with an owner and an app role of its own (as production has
them: ``flask db upgrade`` and ``flask db-grant`` as the owner), seeds a market through the
services, then starts — every one a process of its own, as in production — a private
``redis-server`` on a free port, gunicorn with 4 workers serving ``wsgi:app``
(``CROWDSOURCE_ENV=production``), 2 ``flask worker`` and ``rq cron crowdsource.cron``, with mail
going to a local SMTP server (aiosmtpd, tests/fake_smtp.py). Simulated visitors, solvers,
enterprise members and center managers (bench/load_users.py) use the site over HTTP through
its real forms for the given time. Then it waits (bounded) for the outbox and the mail to
drain and prints requests by status and latency per kind of action, the simultaneous actions
and how many of each succeeded, the outbox and queue delays, mail expected against mail sent
and received, and the verdict of ``flask ledger check``. Everything it created is removed at
the end. Exits 0 when there was no 5xx, no lost job or mail and the ledger is clean, 1
otherwise, 2 when it cannot run. See bench/README.md.
"""

import argparse
import collections
import contextlib
import datetime as dt
import json
import logging
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import sqlalchemy as sa

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load_users as users  # noqa: E402

from crowdsource import create_app  # noqa: E402
from crowdsource.accounts import centers, orgs  # noqa: E402
from crowdsource.accounts import services as accounts  # noqa: E402
from crowdsource.accounts.credit_code import check_character  # noqa: E402
from crowdsource.accounts.models import Membership, Role  # noqa: E402
from crowdsource.bids import offers  # noqa: E402
from crowdsource.bids import services as bids  # noqa: E402
from crowdsource.db import db, transaction, utcnow  # noqa: E402
from crowdsource.payments import funding, policy  # noqa: E402
from crowdsource.tasks import services as tasks  # noqa: E402
from tests.fake_smtp import FakeSMTP  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BIN = pathlib.Path(sys.executable).parent
PASSWORD = "bench load password 2026"
#: the prefix of the queues (RQ_QUEUE) and their lanes, in the workers' order
RQ_QUEUE = "crowdsource"
LANES = ("payments", "default", "mail")

# The market: enterprises (an owner and a member each) with open tasks, tasks whose bidding
# ended (three bids each, ready to award) and contracts whose first milestone's bank transfer
# waits for a manager; individual solvers; the managers of the one city center.
ENTERPRISES = 20
OPEN_TASKS = 10
READY_TASKS = 4
FUNDING_CONTRACTS = 2
SOLVERS = 150
MANAGERS = 4
BUDGET_YUAN = (50_000, 80_000)
#: the longest wait for every client to have logged in before the timed window opens
ARRIVAL_TIMEOUT = 600


# --- the database -----------------------------------------------------------------------------


class Database:
    """A database of its own on the server of ``admin_url``, owned by a role of its own, with
    the app's role beside it; :meth:`drop` removes all three."""

    def __init__(self, admin_url):
        self.admin_url = admin_url
        tag = secrets.token_hex(4)
        self.name, self.owner, self.app = (
            f"bench_load_{tag}",
            f"bench_owner_{tag}",
            f"bench_app_{tag}",
        )
        self.passwords = {self.owner: secrets.token_hex(12), self.app: secrets.token_hex(12)}
        self.created = []

    def _execute(self, *statements):
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                for statement in statements:
                    connection.execute(sa.text(statement))
        finally:
            engine.dispose()

    def create(self):
        for role in (self.owner, self.app):
            self.created.append(("role", role))
            self._execute(
                f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                f"PASSWORD '{self.passwords[role]}'"
            )
        self.created.append(("database", self.name))
        self._execute(f'CREATE DATABASE "{self.name}" OWNER "{self.owner}"')

    def url(self, role):
        return self.admin_url.set(
            database=self.name, username=role, password=self.passwords[role]
        ).render_as_string(hide_password=False)

    def drop(self):
        for kind, name in reversed(self.created):
            statement = (
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                if kind == "database"
                else f'DROP ROLE IF EXISTS "{name}"'
            )
            try:
                self._execute(statement)
            except sa.exc.SQLAlchemyError as error:
                print(f"could not drop {kind} {name}: {error}", file=sys.stderr)
        self.created = []


# --- seeding through the services -------------------------------------------------------------


def credit_code(number):
    first = f"91370200MA{number:07d}"
    return first + check_character(first)


def register(name, **attributes):
    user = accounts.register_user(f"{name}@example.com", PASSWORD, name.title(), "en")
    # The seeded past is not e-mailed: e-mail is turned on for everyone once seeding is done.
    user.email_notifications = False
    for key, value in attributes.items():
        setattr(user, key, value)
    return user.email


def task_details(number, city, now):
    keyword = users.KEYWORDS[number % len(users.KEYWORDS)]
    low, high = BUDGET_YUAN
    return tasks.TaskDetails(
        title=f"{keyword.title()} project {number}",
        summary=f"A {keyword} system for our production line.",
        description=f"We need a **{keyword}** system; details on request.",
        contract_type="development",
        fields=["智能制造"],
        skills=[keyword],
        budget_min_fen=low * 100,
        budget_max_fen=high * 100,
        bid_deadline=now + dt.timedelta(days=10),
        delivery_date=(now + dt.timedelta(days=120)).date(),
        center_id=city.id,
    )


def offer(rng, now):
    low, high = BUDGET_YUAN
    price = rng.randint(low, high) * 100
    due = now.date()
    return bids.BidDetails(
        price_fen=price,
        duration_days=60,
        proposal="Seeded bid.",
        milestones=[
            bids.ProposedMilestone("Design", price // 2, due + dt.timedelta(days=30)),
            bids.ProposedMilestone("Delivery", price - price // 2, due + dt.timedelta(days=60)),
        ],
    )


def seed(app, rng):
    """The market, through the real services, one transaction per enterprise; returns what
    the simulated people need to know (e-mails, task and contract ids)."""
    from crowdsource.accounts.models import User

    now = utcnow()
    with app.app_context():
        with transaction():
            province = centers.add_center("shandong", "山东省", "Shandong", "province")
            city = centers.add_center("qingdao", "青岛市", "Qingdao", "city", province)
            admin = accounts.find_user_by_email(register("admin", is_admin=True))
            db.session.flush()
            # 5 % commission, 1 % client fee, 2 % center share, brokerage up to 30 %
            policy.set_policy(admin, None, None, 500, 100, 200, 3000)
            managers = [register(f"manager{n}") for n in range(MANAGERS)]
            for email in managers:
                centers.make_manager(accounts.find_user_by_email(email), city)
            solvers = [register(f"solver{n}") for n in range(SOLVERS)]
        solver_ids = [accounts.find_user_by_email(email).id for email in solvers]
        enterprises, all_tasks, number = [], [], 0
        for index in range(ENTERPRISES):
            with transaction():
                owner_email, member_email = register(f"owner{index}"), register(f"member{index}")
                owner = accounts.find_user_by_email(owner_email)
                member = accounts.find_user_by_email(member_email)
                organization = orgs.create_organization(
                    owner, f"Enterprise {index}", "enterprise", None, credit_code(index), city.id
                )
                db.session.add(Membership(user=member, organization=organization, role=Role.MEMBER))
                db.session.flush()
                made = {"open": [], "ready": [], "contracts": []}
                for state, count in (
                    ("open", OPEN_TASKS),
                    ("ready", READY_TASKS),
                    ("funding", FUNDING_CONTRACTS),
                ):
                    for _ in range(count):
                        number += 1
                        task = tasks.create_task(
                            owner, organization, task_details(number, city, now)
                        )
                        tasks.publish_task(owner, task)
                        all_tasks.append(task.id)
                        if state == "open":
                            made["open"].append(task.id)
                            continue
                        placed = [
                            bids.place_bid(db.session.get(User, solver), task, offer(rng, now))
                            for solver in rng.sample(solver_ids, 3)
                        ]
                        tasks.close_bidding(owner, task)
                        if state == "ready":
                            made["ready"].append(task.id)
                            continue
                        contract = offers.sign_both(owner, placed[0])
                        first = min(contract.milestones, key=lambda m: m.position)
                        funding.start_funding(owner, first)
                        made["contracts"].append(contract.id)
            enterprises.append(
                {
                    "users": [owner_email, member_email],
                    "open_tasks": made["open"],
                    "ready_tasks": made["ready"],
                    "contracts": made["contracts"],
                }
            )
        with transaction():
            db.session.execute(sa.update(User).values(email_notifications=True))
        db.session.remove()
        db.engine.dispose()
    return {
        "managers": managers,
        "solvers": solvers,
        "enterprises": enterprises,
        "all_tasks": all_tasks,
        "budget_yuan": BUDGET_YUAN,
    }


# --- processes --------------------------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Processes:
    """The processes this run started, each in a session of its own (so that a signal to its
    group reaches its children: gunicorn's workers, RQ's work horses); logs under ``logs``."""

    def __init__(self, logs):
        self.logs = logs
        self.running = {}  # name -> Popen
        self.specs = {}  # name -> (command, env, cwd), to start it again

    def start(self, name, command, env, cwd=ROOT):
        self.specs[name] = (command, env, cwd)
        with open(self.logs / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running[name] = process
        return process

    def stop(self, name, timeout=20):
        process = self.running.pop(name, None)
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=timeout)
        # What the group left behind (a horse of a worker that went first)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.returncode

    def stop_all(self):
        """Everything, Redis last (the others would log its absence)."""
        for name in sorted(self.running, key=lambda name: name == "redis"):
            self.stop(name)

    def exited(self):
        """The processes that ended by themselves: name -> exit code."""
        return {
            name: process.returncode
            for name, process in list(self.running.items())
            if process.poll() is not None
        }

    def restart(self, name):
        self.stop(name)
        return self.start(name, *self.specs[name])

    def log(self, name):
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


#: seconds before a process of the deployment that exited is started again: RestartSec= of its
#: unit in deploy/systemd/ (gunicorn's unit restarts it on failure, the others always)
RESTART_SECONDS = {"gunicorn": 2, "worker": 5, "cron": 5}


class Supervisor(threading.Thread):
    """Does what systemd does for the units of deploy/systemd/: starts again, after its
    RestartSec, a process that exited (Redis excepted: the outage decides about it); records
    each exit."""

    def __init__(self, processes):
        super().__init__(daemon=True)
        self.processes = processes
        self.exits = []  # (name, exit code, time.monotonic() of the exit seen)
        self._halt = threading.Event()

    def run(self):
        while not self._halt.wait(0.5):
            for name, code in self.processes.exited().items():
                if name == "redis":
                    continue
                self.exits.append((name, code, time.monotonic()))
                if self._halt.wait(RESTART_SECONDS[name.split("-")[0]]):
                    return
                self.processes.restart(name)

    def stop(self):
        self._halt.set()
        self.join()


def wait_for(condition, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = condition()
        except Exception:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout} s")
        time.sleep(interval)


class RedisServer:
    """A private redis-server on a port of its own, without persistence (as the brief of the
    benchmark asks: the shared one is never touched)."""

    def __init__(self, processes, port):
        self.processes, self.port = processes, port
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self):
        command = ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.processes.start("redis", command, dict(os.environ), cwd=self.processes.logs)
        wait_for(lambda: self.client().ping(), 30, "redis-server answering")

    def stop(self):
        self.processes.stop("redis")

    def client(self, timeout=2):
        import redis

        return redis.Redis.from_url(
            self.url, socket_timeout=timeout, socket_connect_timeout=timeout
        )


def app_env(database, redis_url, smtp_port, web_port, secret, uploads):
    """The environment of every app process: production settings, plain http."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("STRIPE_", "MAIL_", "TEST_", "DATABASE_", "REDIS_", "RQ_", "UPLOAD_")
        )
    }
    env.update(
        FLASK_APP="crowdsource",
        PYTHONUNBUFFERED="1",
        CROWDSOURCE_ENV="production",
        SECRET_KEY=secret,
        # Plain http to gunicorn (no TLS proxy in front): the documented override of
        # production's Secure cookies, for a trial on http.
        SESSION_COOKIE_SECURE="0",
        # One trusted proxy, as behind nginx: each simulated person's X-Forwarded-For is its
        # address, so the API's rate limit and the login limits count each person.
        PROXY_COUNT="1",
        DATABASE_URL=database.url(database.app),
        REDIS_URL=redis_url,
        RQ_QUEUE=RQ_QUEUE,
        PUBLIC_URL=f"http://127.0.0.1:{web_port}",
        MAIL_BACKEND="smtp",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp_port),
        PAYMENT_PROVIDER="manual",
        # Production wants the folder every app server and worker shares (none is uploaded).
        UPLOAD_FOLDER=str(uploads),
    )
    return env


def flask(env, *arguments, role_url=None, check=True):
    run_env = dict(env, DATABASE_URL=role_url) if role_url else env
    completed = subprocess.run(
        [str(BIN / "flask"), *arguments],
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and completed.returncode != 0:
        raise RuntimeError(f"flask {' '.join(arguments)} failed:\n{completed.stderr}")
    return completed


# --- what the queues did ---------------------------------------------------------------------


class JobSampler(threading.Thread):
    """Reads every few seconds the jobs RQ finished or failed (with their timestamps), so
    that what a restarted Redis forgot is still counted."""

    def __init__(self, redis_server, interval=2.0):
        super().__init__(daemon=True)
        self.redis_server, self.interval = redis_server, interval
        self.jobs = {}  # id -> (queue, enqueued_at, started_at, ended_at)
        self.finished, self.failed = set(), set()
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def run(self):
        while not self._halt.wait(self.interval):
            self.sample()

    def stop(self):
        self._halt.set()
        self.join()

    def sample(self):
        from rq import Queue
        from rq.job import Job

        try:
            connection = self.redis_server.client()
            for lane in LANES:
                queue = Queue(f"{RQ_QUEUE}-{lane}", connection=connection)
                for registry, seen in (
                    (queue.finished_job_registry, self.finished),
                    (queue.failed_job_registry, self.failed),
                ):
                    ids = [job_id for job_id in registry.get_job_ids() if job_id not in seen]
                    for job in Job.fetch_many(ids, connection=connection):
                        if job is None:
                            continue
                        with self._lock:
                            seen.add(job.id)
                            self.jobs[job.id] = (
                                queue.name,
                                job.enqueued_at,
                                job.started_at,
                                job.ended_at,
                            )
        except Exception:
            pass  # Redis stopped: the next sample reads what the restarted one has

    def in_redis(self):
        """Jobs Redis holds now that did not end: queued, started, scheduled, by queue."""
        from rq import Queue

        connection = self.redis_server.client()
        counts = {}
        for lane in LANES:
            queue = Queue(f"{RQ_QUEUE}-{lane}", connection=connection)
            counts[queue.name] = (
                queue.count,
                queue.started_job_registry.count,
                queue.scheduled_job_registry.count,
            )
        return counts


# --- the run ----------------------------------------------------------------------------------


class Outage(threading.Thread):
    """Stops the private redis-server at ``start`` seconds into the run and starts it again
    (same port, empty: it keeps nothing on disk) ``seconds`` later."""

    def __init__(self, redis_server, sampler, t0, start, seconds):
        super().__init__(daemon=True)
        self.redis_server, self.sampler = redis_server, sampler
        self.t0, self.start_at, self.seconds = t0, start, seconds
        self.events, self.in_redis_at_stop, self.error = [], None, None

    def run(self):
        try:
            time.sleep(max(0, self.t0 + self.start_at - time.monotonic()))
            self.sampler.sample()
            with contextlib.suppress(Exception):
                self.in_redis_at_stop = self.sampler.in_redis()
            self.redis_server.stop()
            self.events.append(("stopped", time.monotonic() - self.t0, utcnow()))
            time.sleep(self.seconds)
            self.redis_server.start()
            self.events.append(("started", time.monotonic() - self.t0, utcnow()))
        except Exception as error:  # reported, not raised in a thread
            self.error = error


def run_clients(base_url, market, clients, seconds, think, ramp, seed_value):
    """Start the clients (they arrive over ``ramp`` seconds and log in), then open the timed
    window of ``seconds`` once all have arrived; returns (start of the window, seconds the
    arrival took, threads, recorder, collisions)."""
    recorder, collisions = users.Recorder(), users.Collisions()
    roles = users.cast(clients)
    window = users.Window(len(roles))
    threads = []
    arrival = time.monotonic()
    for index, (role, number) in enumerate(roles):
        rng = users.seeded_rng(seed_value, role.kind, number)
        client = role(number, base_url, market, recorder, collisions, think, rng)
        delay = ramp * index / max(1, len(roles))

        def start(client=client, delay=delay):
            time.sleep(delay)
            try:
                client.run(window)
            except Exception as error:
                recorder.add("client error", type(error).__name__, 0.0)

        thread = threading.Thread(target=start, daemon=True)
        thread.start()
        threads.append(thread)
    window.everyone.wait(timeout=ARRIVAL_TIMEOUT)
    t0 = window.open(seconds)
    return t0, t0 - arrival, threads, recorder, collisions


# --- the figures -----------------------------------------------------------------------------


def percentile(values, fraction):
    """Nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


def ms(seconds):
    return "-" if seconds is None else f"{seconds * 1000:.0f}"


def span(seconds):
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def database_figures(engine, first_notification, first_outbox):
    """Outbox rows and e-mailed notifications written during the run."""
    with engine.connect() as connection:
        outbox = connection.execute(
            sa.text(
                "SELECT id, queue, job_path, args, created_at, sent_at, rq_job_id, attempts, "
                "last_error FROM job_outbox WHERE id > :first ORDER BY id"
            ),
            {"first": first_outbox},
        ).all()
        notifications = connection.execute(
            sa.text(
                "SELECT id, email_message_id, emailed_at FROM notifications "
                "WHERE id > :first AND email_message_id IS NOT NULL"
            ),
            {"first": first_notification},
        ).all()
        funded_twice = connection.scalar(
            sa.text(
                "SELECT count(*) FROM (SELECT milestone_id FROM fundings WHERE status = "
                "'confirmed' GROUP BY milestone_id HAVING count(*) > 1) AS twice"
            )
        )
    return outbox, notifications, funded_twice


def watermarks(engine):
    with engine.connect() as connection:
        return (
            connection.scalar(sa.text("SELECT coalesce(max(id), 0) FROM notifications")),
            connection.scalar(sa.text("SELECT coalesce(max(id), 0) FROM job_outbox")),
        )


def drained(engine, first_notification, first_outbox):
    """(outbox rows waiting, notifications whose mail is not recorded yet) of the run."""
    with engine.connect() as connection:
        waiting = connection.scalar(
            sa.text("SELECT count(*) FROM job_outbox WHERE id > :f AND sent_at IS NULL"),
            {"f": first_outbox},
        )
        unsent = connection.scalar(
            sa.text(
                "SELECT count(*) FROM notifications WHERE id > :f AND "
                "email_message_id IS NOT NULL AND emailed_at IS NULL"
            ),
            {"f": first_notification},
        )
    return waiting, unsent


def print_requests(recorder, t0, seconds):
    print()
    header = f"{'action':<16}{'requests':>9}{'2xx':>7}{'3xx':>7}{'4xx':>7}{'5xx':>6}{'other':>7}"
    print(header + f"{'p50 ms':>9}{'p99 ms':>9}   statuses")
    totals = collections.Counter()
    every = []
    for kind in sorted(recorder.samples):
        samples = recorder.samples[kind]
        statuses = collections.Counter(status for status, _, _ in samples)
        classes = collections.Counter(
            f"{status // 100}xx" if isinstance(status, int) else "other"
            for status in statuses.elements()
        )
        totals.update(classes)
        durations = [took for status, took, _ in samples if isinstance(status, int)]
        every += durations
        listed = ", ".join(
            f"{status}: {count}" for status, count in sorted(statuses.items(), key=str)
        )
        print(
            f"{kind:<16}{len(samples):>9}{classes['2xx']:>7}{classes['3xx']:>7}{classes['4xx']:>7}"
            f"{classes['5xx']:>6}{classes['other']:>7}{ms(percentile(durations, 0.5)):>9}"
            f"{ms(percentile(durations, 0.99)):>9}   {listed}"
        )
    count = sum(totals.values())
    print(
        f"{'all':<16}{count:>9}{totals['2xx']:>7}{totals['3xx']:>7}{totals['4xx']:>7}"
        f"{totals['5xx']:>6}{totals['other']:>7}{ms(percentile(every, 0.5)):>9}"
        f"{ms(percentile(every, 0.99)):>9}"
    )
    answered = sum(
        1
        for samples in recorder.samples.values()
        for status, _, ended in samples
        if isinstance(status, int) and t0 <= ended <= t0 + seconds
    )
    print(f"throughput: {answered / seconds:.1f} answers/s in the {seconds:.0f} s window")
    return totals


def print_collisions(collisions):
    print()
    print("simultaneous actions (groups fired at once; successes per group):")
    if not collisions.groups:
        print("  none")
    doubled = 0
    for kind, results in sorted(collisions.groups.items()):
        by = collections.Counter(results)
        doubled += sum(count for successes, count in by.items() if successes > 1)
        listed = ", ".join(f"{successes} won: {count}" for successes, count in sorted(by.items()))
        print(f"  {kind}: {len(results)} groups ({listed})")
    return doubled


def queue_delays(sampler):
    by_queue = collections.defaultdict(list)
    for name, enqueued, started, _ in sampler.jobs.values():
        if enqueued is not None and started is not None:
            by_queue[name].append((started - enqueued).total_seconds())
    return by_queue


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="concurrent simulated users")
    parser.add_argument("--seconds", type=float, default=60, help="length of the load")
    parser.add_argument(
        "--redis-outage",
        type=float,
        default=0,
        metavar="SECONDS",
        help="stop the private redis-server this long in the middle of the run",
    )
    parser.add_argument(
        "--think", type=float, default=0.5, help="mean pause of a user between actions (s)"
    )
    parser.add_argument("--ramp", type=float, default=5, help="seconds over which users arrive")
    parser.add_argument(
        "--drain-seconds", type=float, default=180, help="longest wait for outbox and mail"
    )
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--job-workers", type=int, default=2, help="flask worker processes")
    parser.add_argument("--seed", type=int, default=12, help="seed of the users' choices")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL server (a superuser or CREATEROLE+CREATEDB user; its database is "
        "only used to connect)",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    options = parser.parse_args(argv)
    if options.clients < 4 or options.seconds <= 0:
        parser.error("--clients must be at least 4 (one of each role), --seconds above 0")
    if options.redis_outage and options.redis_outage >= options.seconds:
        parser.error("--redis-outage must be shorter than --seconds")
    for program in ("redis-server",):
        if shutil.which(program) is None:
            print(f"{program} is not installed", file=sys.stderr)
            return 2
    admin_url = sa.engine.make_url(options.database_url)
    if admin_url.get_backend_name() != "postgresql":
        print("the benchmark runs on PostgreSQL only", file=sys.stderr)
        return 2
    # aiosmtpd logs every SMTP command it reads at INFO
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logs = pathlib.Path(tempfile.mkdtemp(prefix="bench-load-"))
    database = Database(admin_url)
    processes = Processes(logs)
    smtp = FakeSMTP()
    keep_logs = options.keep_logs
    try:
        try:
            database.create()
        except sa.exc.OperationalError as error:
            print(f"PostgreSQL at {admin_url} does not answer: {error}", file=sys.stderr)
            return 2
        code = run(options, database, processes, smtp, logs)
        keep_logs = keep_logs or code != 0
        return code
    finally:
        processes.stop_all()
        smtp.stop()
        database.drop()
        if keep_logs:
            print(f"logs kept in {logs}", file=sys.stderr)
        else:
            shutil.rmtree(logs, ignore_errors=True)


def run(options, database, processes, smtp, logs):
    rng = users.seeded_rng(options.seed, "seed")
    smtp.start()
    web_port = free_port()
    redis_server = RedisServer(processes, free_port())
    uploads = logs / "uploads"
    uploads.mkdir()
    env = app_env(database, redis_server.url, smtp.port, web_port, secrets.token_hex(24), uploads)
    owner_url = database.url(database.owner)

    started = time.monotonic()
    flask(env, "db", "upgrade", role_url=owner_url)
    flask(env, "db-grant", database.app, role_url=owner_url)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database.url(database.app),
            "REDIS_URL": None,  # seeding: jobs (the notifications' mail) run inline
            "MAIL_BACKEND": "dummy",
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
            "SWEEP_ON_ACCESS_SECONDS": 0,
            "OUTBOX_RELAY_SECONDS": 0,
            "PAYMENT_PROVIDER": "manual",
            # Seeding only: a commit does not wait for the WAL flush (PostgreSQL's own
            # trade-off, per session; the app processes keep the server's setting).
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": "-c synchronous_commit=off"}},
        }
    )
    seeded = seed(app, rng)
    market = users.Market(seeded, PASSWORD)
    print(
        f"seeded in {time.monotonic() - started:.0f} s: {ENTERPRISES} enterprises, "
        f"{len(seeded['all_tasks'])} tasks ({len(market.open_tasks)} open for bids, "
        f"{sum(len(e.ready_tasks) for e in market.enterprises)} ready to award, "
        f"{sum(len(e.contracts) for e in market.enterprises)} contracts waiting for a "
        f"transfer), {SOLVERS} solvers, {MANAGERS} managers",
        file=sys.stderr,
    )

    redis_server.start()
    gunicorn = [
        str(BIN / "gunicorn"),
        "--config",
        str(ROOT / "deploy" / "gunicorn.conf.py"),
        "--workers",
        str(options.web_workers),
        "--bind",
        f"127.0.0.1:{web_port}",
        "--no-control-socket",  # its default path is shared by every gunicorn of the user
        "wsgi:app",
    ]
    processes.start("gunicorn", gunicorn, env)
    for number in range(options.job_workers):
        processes.start(f"worker-{number}", [str(BIN / "flask"), "worker"], env)
    processes.start(
        "cron", [str(BIN / "rq"), "cron", "--url", redis_server.url, "crowdsource.cron"], env
    )
    base_url = f"http://127.0.0.1:{web_port}"

    def serving():
        import requests

        return requests.get(base_url + "/", timeout=5).status_code == 200

    wait_for(serving, 90, "gunicorn serving")

    def workers_up():
        from rq import Worker

        return len(Worker.all(connection=redis_server.client())) >= options.job_workers

    wait_for(workers_up, 90, "the flask workers registered")

    engine = sa.create_engine(database.url(database.owner), poolclass=sa.pool.NullPool)
    first_notification, first_outbox = watermarks(engine)
    sampler = JobSampler(redis_server)
    sampler.start()
    supervisor = Supervisor(processes)
    supervisor.start()
    load_before = os.getloadavg()
    cpu_before = time.process_time()

    print(
        f"running {options.clients} clients for {options.seconds:.0f} s"
        + (
            f", Redis stopped for {options.redis_outage:.0f} s mid-run"
            if options.redis_outage
            else ""
        )
        + " …",
        file=sys.stderr,
    )
    t0, arrival, threads, recorder, collisions = run_clients(
        base_url,
        market,
        options.clients,
        options.seconds,
        options.think,
        options.ramp,
        options.seed,
    )
    outage = None
    if options.redis_outage:
        outage = Outage(
            redis_server,
            sampler,
            t0,
            (options.seconds - options.redis_outage) / 2,
            options.redis_outage,
        )
        outage.start()
    for thread in threads:
        thread.join(timeout=max(0, t0 + options.seconds + users.REQUEST_TIMEOUT - time.monotonic()))
    elapsed = time.monotonic() - t0
    if outage is not None:
        outage.join()
    cpu = time.process_time() - cpu_before
    load_after = os.getloadavg()
    waiting_at_end, unsent_at_end = drained(engine, first_notification, first_outbox)

    # Drain: the outbox relayed, every due mail sent (bounded).
    drain_started = time.monotonic()
    while time.monotonic() - drain_started < options.drain_seconds:
        waiting, unsent = drained(engine, first_notification, first_outbox)
        if waiting == 0 and unsent == 0:
            break
        time.sleep(1)
    drain_seconds = time.monotonic() - drain_started
    sampler.sample()
    sampler.stop()
    supervisor.stop()
    in_redis = None
    with contextlib.suppress(Exception):
        in_redis = sampler.in_redis()

    # --- report ----------------------------------------------------------------------------
    print()
    print(
        f"load: {options.clients} clients for {options.seconds:.0f} s (think {options.think} s, "
        f"ramp {options.ramp} s); {os.cpu_count()} CPUs, load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after; the client used "
        f"{cpu:.0f} s of CPU ({100 * cpu / (arrival + elapsed):.0f} % of one core)"
    )
    print(
        f"arrival: the clients logged in over {arrival:.0f} s before the window opened "
        "(their logins are in the table, not in the window's throughput); the requests under "
        f"way when it closed ended {max(0, elapsed - options.seconds):.0f} s later"
    )
    print(
        f"deployment: gunicorn {options.web_workers} sync workers (CROWDSOURCE_ENV=production), "
        f"{options.job_workers} × flask worker, rq cron; private redis-server; PostgreSQL as "
        "the app role; mail over SMTP to a local aiosmtpd"
    )
    if outage is not None:
        times = ", ".join(f"{event} at {when:.1f} s" for event, when, _ in outage.events)
        print(f"Redis outage: {times}" + (f"; ERROR {outage.error}" if outage.error else ""))
        if outage.in_redis_at_stop:
            held = {
                name: f"{queued} queued, {running} started, {scheduled} scheduled"
                for name, (queued, running, scheduled) in outage.in_redis_at_stop.items()
            }
            print(f"  jobs in Redis when it stopped (gone with it): {held}")
    totals = print_requests(recorder, t0, options.seconds)
    print_server_times(processes)
    doubled = print_collisions(collisions)

    outbox, notifications, funded_twice = database_figures(engine, first_notification, first_outbox)
    engine.dispose()
    print()
    sent = [row for row in outbox if row.sent_at is not None]
    delays = [(row.sent_at - row.created_at).total_seconds() for row in sent]
    waiting_rows = [row for row in outbox if row.sent_at is None]
    print(
        f"outbox: {len(outbox)} jobs written during the run, {len(sent)} handed to RQ; "
        f"delay sent_at - created_at p50 {span(percentile(delays, 0.5))}, "
        f"p99 {span(percentile(delays, 0.99))}, max {span(max(delays, default=None))}; "
        f"{sum(1 for row in sent if row.attempts > 1)} needed more than one push; waiting "
        f"when the load ended: {waiting_at_end}, after the drain: {len(waiting_rows)}"
    )
    if outage is not None and len(outage.events) == 2:
        down, up = outage.events[0][2], outage.events[1][2]
        during = [row for row in outbox if down <= row.created_at <= up]
        late = [(row.sent_at - row.created_at).total_seconds() for row in during if row.sent_at]
        print(
            f"  written while Redis was down: {len(during)} jobs, {len(late)} handed to RQ "
            f"since, after p50 {span(percentile(late, 0.5))}, max {span(max(late, default=None))}"
            + ("" if during else " (no action committed during the outage: rerun, or longer)")
        )
    for row in waiting_rows[:3]:
        print(f"  waiting: {row.job_path}{tuple(row.args)} last error {row.last_error}")
    by_queue = queue_delays(sampler)
    print("queue delay (RQ started_at - enqueued_at, jobs finished or failed):")
    for lane in LANES:
        name = f"{RQ_QUEUE}-{lane}"
        values = by_queue.get(name, [])
        print(
            f"  {name}: {len(values)} jobs, p50 {span(percentile(values, 0.5))}, "
            f"p99 {span(percentile(values, 0.99))}, max {span(max(values, default=None))}"
        )
    print(f"  still in Redis after the drain (queued, started, scheduled): {in_redis}")

    emailed = {row.id for row in notifications if row.emailed_at is not None}
    expected_ids = {row.email_message_id for row in notifications}
    mailbox = [message["Message-ID"] for message in smtp.messages]
    received = set(mailbox) & expected_ids
    recorded_ids = {row.email_message_id for row in notifications if row.emailed_at is not None}
    recorded_not_received = recorded_ids - received
    lost_mail = len(notifications) - len(emailed)
    finished = sampler.finished | sampler.failed
    lost_jobs = []
    unaccounted = 0
    for row in sent:
        if row.rq_job_id in finished:
            continue
        notification = row.args[0] if row.job_path.endswith(":send_notification_email") else None
        if notification is not None and notification in emailed:
            unaccounted += 1  # it ran: its finished record went with Redis before a sample
        else:
            lost_jobs.append(row)
    failed_now = len(sampler.failed - sampler.finished)
    print(
        f"jobs: {len(finished & {row.rq_job_id for row in sent})} of the {len(sent)} handed over "
        f"seen finished or failed by RQ ({failed_now} failed), {unaccounted} ran (their mail is "
        f"recorded) but RQ's record of them went with Redis; lost: {len(lost_jobs)}"
    )
    for row in lost_jobs[:3]:
        print(f"  lost: {row.job_path}{tuple(row.args)} rq job {row.rq_job_id}")
    print(
        f"mail: {len(notifications)} notifications of the run should be e-mailed; "
        f"{len(emailed)} recorded sent (emailed_at); the SMTP server accepted {len(mailbox)} "
        f"messages, {len(set(mailbox))} distinct Message-IDs, {len(received)} of them expected; "
        f"recorded but never received: {len(recorded_not_received)}; not sent: {lost_mail} "
        f"(after a drain of {drain_seconds:.0f} s; {unsent_at_end} were due when the load ended)"
    )
    if funded_twice:
        print(f"milestones confirmed twice: {funded_twice}")
    ledger = flask(env, "ledger", "check", check=False)
    verdict_text = (ledger.stdout + ledger.stderr).strip()
    print(f"flask ledger check: exit {ledger.returncode}: {verdict_text[:2000]}")
    for name, code, when in supervisor.exits:
        print(
            f"note: {name} exited with {code} at {when - t0:.1f} s into the window and was "
            f"started again {RESTART_SECONDS[name.split('-')[0]]} s later, as its systemd unit "
            f"does (deploy/systemd/); its log has why (--keep-logs)"
        )

    problems = []
    if totals["5xx"]:
        problems.append(f"{totals['5xx']} responses 5xx")
    if totals["other"]:
        problems.append(f"{totals['other']} requests without an answer (timeout, connection)")
    if lost_jobs:
        problems.append(f"{len(lost_jobs)} jobs lost")
    if waiting_rows:
        problems.append(f"{len(waiting_rows)} outbox rows never handed to RQ")
    if lost_mail:
        problems.append(f"{lost_mail} notifications never e-mailed")
    if recorded_not_received:
        problems.append(f"{len(recorded_not_received)} mails recorded sent but never received")
    if doubled or funded_twice:
        problems.append(f"{doubled + funded_twice} simultaneous actions that both succeeded")
    if ledger.returncode != 0:
        problems.append("ledger check failed")
    for kind, method, path, status, _body in recorder.server_errors[:5]:
        print(f"5xx: {status} {method} {path} ({kind})")
    if recorder.server_errors:
        print_tracebacks(processes)
    print()
    print("verdict: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
    return 0 if not problems else 1


def log_records(processes, name):
    """The JSON records of a process's log (LOG_FORMAT=json, production's default)."""
    for line in processes.log(name).splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                yield json.loads(line)


def print_server_times(processes):
    """What gunicorn's access lines say: the time a worker spent on each request (without
    the wait in the listen queue, which the client's figures include)."""
    durations = collections.defaultdict(list)
    for record in log_records(processes, "gunicorn"):
        if record.get("logger") == "gunicorn.access" and "duration_ms" in record:
            durations[record.get("method")].append(record["duration_ms"] / 1000)
    every = [value for values in durations.values() for value in values]
    by_method = "; ".join(
        f"{method} {len(values)}: p50 {span(percentile(values, 0.5))}, "
        f"p99 {span(percentile(values, 0.99))}"
        for method, values in sorted(durations.items(), key=str)
    )
    print(
        f"in the app (gunicorn's access log, without the wait for a free worker): "
        f"{len(every)} requests, p50 {span(percentile(every, 0.5))}, "
        f"p99 {span(percentile(every, 0.99))}; {by_method}"
    )


def print_tracebacks(processes, limit=3):
    """The first errors the app servers logged, with their tracebacks."""
    shown = 0
    for record in log_records(processes, "gunicorn"):
        if record.get("level") == "ERROR" and shown < limit:
            shown += 1
            print(f"{record.get('message')} (request {record.get('request_id')})")
            print(record.get("exc", "")[:4000])


if __name__ == "__main__":
    sys.exit(main())
