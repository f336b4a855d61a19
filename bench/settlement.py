"""Settlement benchmark (issue 4): milestone releases per second through the real services on
PostgreSQL, next to pgbench's TPC-B-like transactions per second on the same server.

    .venv/bin/python bench/settlement.py [--milestones N] [--clients C ...] [--database-url URL]

It seeds a scratch database through the real services (tasks, bids, award, funding by bank
transfer, delivery), copies it once per client count, times only the releases
(``workflow.accept_delivery``, one transaction each) with C worker threads, checks that the
ledger and escrow hold, then runs pgbench against the same server. Every database it creates
is dropped at the end, also on failure. See bench/README.md.
"""

import argparse
import contextlib
import dataclasses
import datetime as dt
import os
import pathlib
import queue
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time

import flask_migrate
import sqlalchemy as sa

from crowdsource import create_app
from crowdsource.accounts import centers, orgs
from crowdsource.accounts import services as accounts
from crowdsource.accounts.credit_code import check_character
from crowdsource.accounts.models import User
from crowdsource.bids import offers
from crowdsource.bids import services as bids
from crowdsource.contracts import workflow
from crowdsource.contracts.models import Contract, ContractStatus, Milestone, MilestoneStatus
from crowdsource.db import db, transaction, utcnow
from crowdsource.payments import escrow, ledger, policy
from crowdsource.payments import funding as fundings
from crowdsource.payments.models import JournalEntry
from crowdsource.tasks import services as tasks

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MIGRATIONS = pathlib.Path(__file__).resolve().parent.parent / "crowdsource" / "migrations"
PGBENCH_FALLBACK = "/usr/lib/postgresql/15/bin/pgbench"
MILESTONES_PER_CONTRACT = 4
ENTERPRISES = 8
SOLVERS = 8
PASSWORD = "bench password 2026"


# --- scratch databases ---------------------------------------------------------------------


class Server:
    """The PostgreSQL server of ``admin_url``; remembers the databases it creates and drops
    them all in :meth:`drop_all`."""

    def __init__(self, admin_url):
        self.admin_url = admin_url
        self.created = []

    def _execute(self, statement):
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                result = connection.execute(sa.text(statement))
                return result.scalar() if result.returns_rows else None
        finally:
            engine.dispose()

    def version(self):
        return self._execute("SHOW server_version")

    def create(self, name, template=None):
        self.created.append(name)
        clause = f' TEMPLATE "{template}"' if template else ""
        self._execute(f'CREATE DATABASE "{name}"{clause}')
        return self.admin_url.set(database=name)

    def drop(self, name):
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.remove(name)

    def drop_all(self):
        for name in list(self.created):
            try:
                self.drop(name)
            except sa.exc.SQLAlchemyError as error:
                print(f"could not drop database {name}: {error}", file=sys.stderr)


def build_app(url, pool_size=5):
    return create_app(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": pool_size},
            "REDIS_URL": None,  # jobs (the notification mail) run inline, after each commit
            "MAIL_BACKEND": "dummy",
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
            "SWEEP_ON_ACCESS_SECONDS": 0,
            "PAYMENT_PROVIDER": "manual",
        }
    )


# --- seeding through the real services ------------------------------------------------------


@dataclasses.dataclass
class Parties:
    manager: User
    enterprises: list  # (owner, organization)
    broker: User
    agency: object
    institution: object
    solvers: list


def credit_code(number):
    """A valid, distinct unified social credit code (GB 32100-2015) for each number."""
    first = f"91370200MA{number:07d}"
    return first + check_character(first)


def register(name, **attributes):
    user = accounts.register_user(f"{name}@example.com", PASSWORD, name.title(), "en")
    for key, value in attributes.items():
        setattr(user, key, value)
    return user


def seed_parties():
    """A center with a manager, a platform policy with every fee, enterprises, an agency
    brokering for an institution, and individual solvers."""
    with transaction():
        province = centers.add_center("shandong", "山东省", "Shandong", "province")
        city = centers.add_center("qingdao", "青岛市", "Qingdao", "city", province)
        admin = register("admin", is_admin=True)
        db.session.flush()
        # 5 % commission, 1 % client fee, 2 % center share, brokerage up to 30 %
        policy.set_policy(admin, None, None, 500, 100, 200, 3000)
        manager = register("manager")
        centers.make_manager(manager, city)
        enterprises = []
        for number in range(ENTERPRISES):
            owner = register(f"owner{number}")
            name = f"Enterprise {number}"
            organization = orgs.create_organization(
                owner, name, "enterprise", None, credit_code(number), city.id
            )
            enterprises.append((owner, organization))
        broker = register("broker")
        agency = orgs.create_organization(
            broker, "Agency", "agency", "private", credit_code(100), city.id
        )
        professor = register("professor")
        institution = orgs.create_organization(
            professor, "Institute", "institution", "university", credit_code(101), city.id
        )
        solvers = [register(f"solver{number}") for number in range(SOLVERS)]
    return Parties(manager, enterprises, broker, agency, institution, solvers)


def award_contract(parties, number, amounts):
    """An enterprise posts a task, one solver bids (every other contract through the agency,
    for the institution, with brokerage), the enterprise ends bidding and awards it."""
    owner, enterprise = parties.enterprises[number % ENTERPRISES]
    now = utcnow()
    price = sum(amounts)
    with transaction():
        details = tasks.TaskDetails(
            title=f"Machine-vision inspection line {number}",
            summary="Detect solder defects on our SMT line.",
            description="We need a **vision system** that finds solder defects.",
            contract_type="development",
            fields=["智能制造"],
            skills=["machine vision"],
            budget_min_fen=price,
            budget_max_fen=price * 2,
            bid_deadline=now + dt.timedelta(days=10),
            delivery_date=(now + dt.timedelta(days=90)).date(),
            center_id=enterprise.center_id,
        )
        task = tasks.create_task(owner, enterprise, details)
        tasks.publish_task(owner, task)
    due = (now + dt.timedelta(days=60)).date()
    proposed = [
        bids.ProposedMilestone(f"Milestone {position}", amount, due)
        for position, amount in enumerate(amounts, start=1)
    ]
    offer = dict(price_fen=price, duration_days=60, proposal="Done it before.", milestones=proposed)
    if number % 2 == 0:
        bidder = parties.broker
        offer.update(
            agency=parties.agency, payee_organization=parties.institution, brokerage_bps=1500
        )
    else:
        bidder = parties.solvers[number % SOLVERS]
    with transaction():
        bid = bids.place_bid(bidder, task, bids.BidDetails(**offer))
    with transaction():
        tasks.close_bidding(owner, task)
        contract = offers.sign_both(owner, bid)
    return contract, owner, bidder


def fund_and_deliver(parties, contract, owner, solver):
    """Each milestone in turn: the enterprise starts a bank transfer, the center's manager
    confirms it (escrow is credited), the solver delivers. One transaction per step."""
    work = []
    for milestone in sorted(contract.milestones, key=lambda m: m.position):
        with transaction():
            started = fundings.start_funding(owner, milestone)
        with transaction():
            fundings.confirm_bank_transfer(
                parties.manager, started, started.amount_fen, f"ICBC-{milestone.id}"
            )
        with transaction():
            workflow.submit_delivery(solver, milestone.id, "Delivered as agreed.")
        work.append((milestone.id, owner.id))
    return work


def seed(app, milestones):
    """Build the schema by the migrations and seed ``milestones`` delivered milestones; returns
    the releases to make: (milestone id, id of the enterprise owner who accepts)."""
    rng = random.Random(4)
    work = []
    with app.app_context():
        flask_migrate.upgrade(directory=str(MIGRATIONS))
        parties = seed_parties()
        number, shown = 0, -1
        while len(work) < milestones:
            count = min(MILESTONES_PER_CONTRACT, milestones - len(work))
            amounts = [rng.randrange(100_000, 5_000_000) for _ in range(count)]
            contract, owner, solver = award_contract(parties, number, amounts)
            work += fund_and_deliver(parties, contract, owner, solver)
            number += 1
            if len(work) * 100 // milestones != shown:
                shown = len(work) * 100 // milestones
                print(f"\rseeding {milestones} milestones: {shown:3d} %", end="", file=sys.stderr)
        print(file=sys.stderr)
        db.session.remove()
        db.engine.dispose()
    return work


# --- the timed releases --------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    clients: int
    releases: int
    seconds: float
    latencies: list
    failures: list
    statements: int
    cpu_seconds: float

    @property
    def per_second(self):
        return self.releases / self.seconds


def release_all(app, work, clients):
    """Release every milestone of ``work`` with ``clients`` threads, each in its own app
    context (own session and connection), one transaction per release. Only the releases
    are timed: connections are opened before the clock starts."""
    jobs = queue.SimpleQueue()
    for item in random.Random(clients).sample(work, len(work)):
        jobs.put(item)
    ready, start = (threading.Barrier(clients + 1, timeout=120) for _ in range(2))
    latencies, failures = [], []

    def worker():
        with app.app_context():
            db.session.execute(sa.text("SELECT 1"))
            db.session.commit()
            ready.wait()
            start.wait()
            while True:
                try:
                    milestone_id, owner_id = jobs.get_nowait()
                except queue.Empty:
                    break
                began = time.perf_counter()
                try:
                    with transaction():
                        actor = db.session.get(User, owner_id)  # as the request's login does
                        workflow.accept_delivery(actor, milestone_id)
                except Exception as error:
                    failures.append((milestone_id, repr(error)))
                latencies.append(time.perf_counter() - began)
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    with app.app_context():
        statements = StatementCounter(db.engine)
    start.wait()
    began, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join()
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    statements.stop()
    released = len(work) - len(failures)
    return Run(clients, released, seconds, latencies, failures, statements.count, cpu)


class StatementCounter:
    """Counts the SQL statements an engine sends (to see the round trips of a release)."""

    def __init__(self, engine):
        self.engine = engine
        self.count = 0
        self.lock = threading.Lock()
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args):
        with self.lock:
            self.count += 1

    def stop(self):
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)


def verify(app, expected):
    """Problems with the money after the run (empty when everything holds), and a warning
    count of contracts left active although every milestone is settled."""
    with app.app_context():
        problems = [f"ledger: {p}" for p in ledger.check()]
        problems += [f"escrow: {p}" for p in escrow.check()]
        releases = db.session.scalar(
            sa.select(sa.func.count(JournalEntry.id)).where(JournalEntry.kind == "release")
        )
        if releases != expected:
            problems.append(f"{releases} release entries, expected exactly {expected}")
        unsettled = sa.exists().where(
            Milestone.contract_id == Contract.id, Milestone.status != MilestoneStatus.RELEASED
        )
        stuck = db.session.scalar(
            sa.select(sa.func.count(Contract.id)).where(
                Contract.status == ContractStatus.ACTIVE, ~unsettled
            )
        )
        db.session.remove()
    return problems, stuck


def measure(server, template, work, clients):
    """One timed run on a fresh copy of the seeded database; returns (Run, problems)."""
    name = f"{template}_c{clients}"
    url = server.create(name, template=template)
    app = build_app(url, pool_size=max(5, clients))
    try:
        run = release_all(app, work, clients)
        problems, stuck = verify(app, len(work))
    finally:
        with app.app_context():
            db.engine.dispose()
        server.drop(name)
    problems += [f"release of milestone {m} failed: {e}" for m, e in run.failures[:5]]
    latencies = sorted(run.latencies)
    print(
        f"{clients} client(s): {run.releases} releases in {run.seconds:.2f} s = "
        f"{run.per_second:.1f}/s; latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {latencies[int(len(latencies) * 0.95) - 1] * 1000:.1f} ms; "
        f"{run.statements / len(work):.1f} SQL statements and "
        f"{run.cpu_seconds * 1000 / len(work):.2f} ms of client CPU per release; "
        f"checks: {'ok' if not problems else 'FAILED'}"
    )
    if stuck:
        print(f"  warning: {stuck} contracts have every milestone released but are still active")
    return run, problems


# --- pgbench --------------------------------------------------------------------------------


def find_pgbench():
    for candidate in (shutil.which("pgbench"), PGBENCH_FALLBACK):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def pgbench_env(url):
    env = dict(os.environ, PGHOST=url.host or "127.0.0.1", PGPORT=str(url.port or 5432))
    env["PGUSER"] = url.username or "postgres"
    if url.password:
        env["PGPASSWORD"] = url.password
    return env


def run_pgbench(pgbench, url, arguments):
    completed = subprocess.run(
        [pgbench, *arguments, url.database],
        env=pgbench_env(url),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"pgbench {' '.join(arguments)} failed:\n{completed.stderr}")
    return completed.stdout


def pgbench_tps(pgbench, server, name, clients_list, seconds, scale):
    """TPC-B-like tps of the built-in script for each client count, on a scratch database."""
    url = server.create(name)
    try:
        print(f"pgbench: initialising scale {scale} …", file=sys.stderr)
        run_pgbench(pgbench, url, ["-i", "-q", "-s", str(scale)])
        results = {}
        for clients in clients_list:
            arguments = ["-c", str(clients), "-j", str(clients), "-T", str(seconds)]
            output = run_pgbench(pgbench, url, arguments)
            found = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output)
            if found is None:
                raise RuntimeError(f"no tps in pgbench's output:\n{output}")
            results[clients] = float(found.group(1))
            print(f"pgbench TPC-B, {clients} client(s): {results[clients]:.1f} tps")
        return results
    finally:
        server.drop(name)


# --- main -----------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--milestones", type=int, default=2000, help="releases per run")
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[1, 4], help="concurrent clients (runs)"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
        help="a PostgreSQL URL of the server (its database is only used to connect)",
    )
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--pgbench-scale", type=int, default=10)
    args = parser.parse_args(argv)
    if args.milestones < 1 or min(args.clients) < 1:
        parser.error("--milestones and --clients must be at least 1")
    return args


def print_table(runs, tps):
    print()
    print(f"{'clients':>7}  {'releases/s':>10}  {'pgbench TPC-B tps':>17}  {'releases/tps':>12}")
    for run in runs:
        ratio = run.per_second / tps[run.clients]
        print(
            f"{run.clients:>7}  {run.per_second:>10.1f}  {tps[run.clients]:>17.1f}  {ratio:>12.3f}"
        )


def main(argv=None):
    args = parse_args(argv)
    pgbench = find_pgbench()
    if pgbench is None:
        print(
            f"pgbench not found on PATH nor at {PGBENCH_FALLBACK}: install the PostgreSQL "
            "client (apt-get install postgresql-client-15)",
            file=sys.stderr,
        )
        return 2
    admin_url = sa.engine.make_url(args.database_url)
    if admin_url.get_backend_name() != "postgresql":
        print("the benchmark runs on PostgreSQL only", file=sys.stderr)
        return 2
    server = Server(admin_url)
    prefix = f"bench_{secrets.token_hex(4)}"
    problems = []
    try:
        print(
            f"PostgreSQL {server.version()}, {os.cpu_count()} cores; {args.milestones} releases "
            f"per run, {MILESTONES_PER_CONTRACT} milestones per contract"
        )
        seeded = server.create(prefix)
        work = seed(build_app(seeded), args.milestones)
        runs = []
        for clients in args.clients:
            run, found = measure(server, prefix, work, clients)
            runs.append(run)
            problems += found
        server.drop(prefix)
        tps = pgbench_tps(
            pgbench,
            server,
            f"{prefix}_pgbench",
            args.clients,
            args.pgbench_seconds,
            args.pgbench_scale,
        )
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            server.drop_all()
    print_table(runs, tps)
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"checks: ledger and escrow hold; exactly {args.milestones} releases in each run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
