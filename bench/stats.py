"""Statistics benchmark (issue 7): how long the dashboard and the open-data API take on a market
of 100,000 tasks and 20,000 contracts.

    .venv/bin/python bench/stats.py [--tasks N] [--contracts N] [--repeat R]
                                    [--backend postgresql|sqlite] [--database-url URL] [--keep]

It builds a scratch database with the migrations (PostgreSQL by default: a database
``bench_stats_<random>`` on the tests' local server, dropped at the end, also on failure,
unless ``--keep``; SQLite: a file in a temporary folder), seeds it in bulk with a progress bar
(tasks over five years with their search terms and bids, the contracts of the awarded ones
with two milestones each, escrow funded and released through ledger entries and postings that
the database's triggers check, disputes with rulings), then measures:

- computing the monthly summary of every month from the raw rows, cold (what the first reader
  after a deployment waits for, or ``flask stats refresh`` does ahead of time);
- requests through the app's test client (full responses: queries, figures, templates): the
  public statistics page and the statistics API with the per-process cache off (and once on),
  the task and center API, the dashboard of the admin and of a city's manager, and the admin's
  dashboard with the running month recomputed on every request (``STATS_REFRESH_SECONDS=0``).

It prints the median and the 95th percentile of each, in milliseconds, after one untimed
request (which computes what the summary lacks).
"""

import argparse
import contextlib
import datetime as dt
import os
import pathlib
import random
import secrets
import statistics
import sys
import tempfile
import time

import flask_migrate
import sqlalchemy as sa
from tqdm import tqdm

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from crowdsource import create_app
from crowdsource.accounts import centers as center_services
from crowdsource.accounts.models import Membership, Organization, User
from crowdsource.bids.models import Bid
from crowdsource.contracts.models import Contract, Milestone
from crowdsource.db import db, transaction, utcnow
from crowdsource.disputes.models import Dispute, Ruling
from crowdsource.payments.models import JournalEntry, LedgerAccount, Posting
from crowdsource.stats import audit, periods, public, summary
from crowdsource.tasks.models import Task, TaskSearchTerm

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MIGRATIONS = pathlib.Path(__file__).resolve().parent.parent / "crowdsource" / "migrations"
PASSWORD = "bench password 2026"
BATCH = 5000
TYPES = ("development", "transfer", "consulting", "service")
CITIES = [
    ("qingdao", "青岛市", "Qingdao", ["laoshan", "huangdao"]),
    ("jinan", "济南市", "Jinan", ["lixia", "zhangqiu"]),
    ("zibo", "淄博市", "Zibo", ["zhangdian", "boshan"]),
    ("yantai", "烟台市", "Yantai", ["zhifu", "laishan"]),
    ("weifang", "潍坊市", "Weifang", ["kuiwen", "shouguang"]),
    ("weihai", "威海市", "Weihai", ["huancui", "rongcheng"]),
]
COMMISSION_BPS = 500


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--contracts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=10, help="timed requests per measurement")
    parser.add_argument(
        "--audit-only",
        action="store_true",
        help="only protect and audit the public statistics; exit 1 if the audit finds a problem",
    )
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL server (its database is only used to create and drop another)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the PostgreSQL database (its URL is printed)"
    )
    args = parser.parse_args(argv)
    if args.contracts > args.tasks:
        parser.error("there cannot be more contracts than tasks")
    return args


# --- the database --------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(args):
    """The URL of an empty database, removed afterwards."""
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    admin_url = sa.engine.make_url(args.database_url)
    name = f"bench_stats_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        if args.keep:
            print(f"kept {url}")
        else:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def build_app(url):
    return create_app(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "REDIS_URL": None,
            "MAIL_BACKEND": "dummy",
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
            "SWEEP_ON_ACCESS_SECONDS": 0,
            "WTF_CSRF_ENABLED": False,
            "API_RATE_LIMIT": 0,
            "STATS_CACHE_SECONDS": 0,
        }
    )


# --- seeding in bulk -----------------------------------------------------------------------


def insert(model, rows, label):
    """Insert ``rows`` (dicts) into ``model``'s table in batches, one transaction each."""
    table = model.__table__
    with tqdm(total=len(rows), desc=label, unit="row", file=sys.stdout) as bar:
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            with transaction():
                db.session.execute(sa.insert(table), batch)
            bar.update(len(batch))


def seed_people(rng):
    """The center tree, the admin, a manager of Qingdao, enterprises, agencies and solvers."""
    with transaction():
        province = center_services.add_center("shandong", "山东省", "Shandong", "province")
        centers = [province]
        for code, name_zh, name_en, counties in CITIES:
            city = center_services.add_center(code, name_zh, name_en, "city", province)
            centers.append(city)
            for county in counties:
                centers.append(
                    center_services.add_center(county, county, county.title(), "county", city)
                )
    from crowdsource.accounts import services as accounts

    with transaction():
        admin = accounts.register_user("admin@bench.example", PASSWORD, "Admin", "en")
        admin.is_admin = True
        manager = accounts.register_user("qingdao@bench.example", PASSWORD, "Manager", "en")
        center_services.make_manager(manager, centers[1])
    hashed = admin.password_hash
    now = utcnow()
    users = [
        dict(
            id=10 + i,
            email=f"user{i}@bench.example",
            password_hash=hashed,
            display_name=f"User {i}",
            created_at=now,
        )
        for i in range(400)
    ]
    insert(User, users, "users")
    organizations = [
        dict(
            id=10 + i,
            name=f"Organization {i}",
            kind="enterprise" if i < 80 else "agency",
            ownership=None if i < 80 else "private",
            credit_code=f"BENCH{i:013d}",
            center_id=rng.choice(centers).id,
            description="",
            created_at=now,
        )
        for i in range(100)
    ]
    insert(Organization, organizations, "organizations")
    members = [
        dict(user_id=10 + i, organization_id=10 + i, role="owner", created_at=now)
        for i in range(100)
    ]
    insert(Membership, members, "memberships")
    return centers, organizations, admin, manager


def seed_market(rng, args, centers, organizations):
    """Tasks, bids, contracts, milestones; returns the contracts and milestones as dicts."""
    now = utcnow()
    start = now - dt.timedelta(days=5 * 365)
    enterprises = [o for o in organizations if o["kind"] == "enterprise"]
    agencies = [o for o in organizations if o["kind"] == "agency"]
    awarded = set(rng.sample(range(args.tasks), args.contracts))
    tasks, bids, contracts, milestones = [], [], [], []
    for i in range(args.tasks):
        organization = rng.choice(enterprises)
        published = start + dt.timedelta(seconds=rng.randrange(int((now - start).total_seconds())))
        recent = now - published < dt.timedelta(days=30)
        status = (
            "awarded"
            if i in awarded
            else ("open" if recent else rng.choice(("expired", "cancelled", "closed")))
        )
        budget = rng.randrange(10_000, 2_000_000) * 100
        task_id = i + 1
        center_id = organization["center_id"]
        kind = rng.choice(TYPES)
        tasks.append(
            dict(
                id=task_id,
                organization_id=organization["id"],
                created_by_id=organization["id"],
                center_id=center_id,
                title=f"Task {i}",
                summary="A technical challenge",
                description="Details",
                contract_type=kind,
                fields=[],
                skills=[],
                budget_min_fen=budget,
                budget_max_fen=budget * 2,
                currency="CNY",
                bid_deadline=published + dt.timedelta(days=30),
                delivery_date=(published + dt.timedelta(days=120)).date(),
                visibility="public" if rng.random() < 0.9 else "invite_only",
                bid_mode="sealed",
                ip_terms="assigned",
                nda_required=False,
                status=status,
                created_at=published,
                published_at=published,
            )
        )
        bidders = rng.sample(range(400), rng.randrange(1 if i in awarded else 0, 6))
        for position, bidder in enumerate(bidders):
            won = i in awarded and position == 0
            bids.append(
                dict(
                    id=len(bids) + 1,
                    task_id=task_id,
                    bidder_id=10 + bidder,
                    bidder_key=f"user:{10 + bidder}",
                    brokerage_bps=0,
                    price_fen=budget + rng.randrange(0, budget),
                    currency="CNY",
                    duration_days=60,
                    proposal="We can do it.",
                    status="accepted" if won else ("rejected" if i in awarded else "submitted"),
                    created_at=published + dt.timedelta(days=1),
                    updated_at=published + dt.timedelta(days=1),
                )
            )
        if i in awarded:
            bid = bids[-len(bidders)]
            signed = min(published + dt.timedelta(days=rng.randrange(2, 40)), now)
            agency = rng.choice(agencies) if rng.random() < 0.15 else None
            contract_id = len(contracts) + 1
            contracts.append(
                dict(
                    id=contract_id,
                    number=f"CS-{signed.year}-{contract_id:07d}",
                    task_id=task_id,
                    bid_id=bid["id"],
                    client_organization_id=organization["id"],
                    solver_id=bid["bidder_id"],
                    agency_id=agency["id"] if agency else None,
                    payee_user_id=None if agency else bid["bidder_id"],
                    payee_organization_id=agency["id"] if agency else None,
                    brokerage_bps=1000 if agency else 0,
                    center_id=center_id,
                    contract_type=kind,
                    ip_terms="assigned",
                    price_fen=bid["price_fen"],
                    currency="CNY",
                    commission_bps=COMMISSION_BPS,
                    client_fee_bps=0,
                    center_share_bps=0,
                    status="active",
                    signed_at=signed,
                )
            )
            first = bid["price_fen"] // 2
            for position, amount in enumerate((first, bid["price_fen"] - first), 1):
                milestones.append(
                    dict(
                        id=len(milestones) + 1,
                        contract_id=contract_id,
                        position=position,
                        title=f"Milestone {position}",
                        amount_fen=amount,
                        due_date=(signed + dt.timedelta(days=60 * position)).date(),
                        status="pending",
                        signed=signed,
                    )
                )
    insert(Task, tasks, "tasks")
    words = ("sensor", "alloy", "vision", "battery", "catalyst")
    terms = [
        dict(task_id=task["id"], term=term)
        for task in tasks
        for term in ("task", words[task["id"] % len(words)])
    ]
    insert(TaskSearchTerm, terms, "search terms")
    insert(Bid, bids, "bids")
    insert(Contract, contracts, "contracts")
    insert(
        Milestone, [{k: v for k, v in m.items() if k != "signed"} for m in milestones], "milestones"
    )
    return contracts, milestones


def seed_money(rng, contracts, milestones):
    """Fund about 60 % of the milestones and release most of those, through entries and
    postings (the database's triggers keep the balances and check every entry)."""
    by_id = {c["id"]: c for c in contracts}
    now = utcnow()
    accounts = [
        dict(
            id=1,
            code="clearing:bank",
            kind="clearing",
            currency="CNY",
            allow_negative=True,
            balance=0,
            created_at=now,
        ),
        dict(
            id=2,
            code="revenue:commission",
            kind="revenue",
            currency="CNY",
            allow_negative=False,
            balance=0,
            created_at=now,
        ),
    ]
    entries, postings = [], []
    funded = [m for m in milestones if rng.random() < 0.6]

    known = {}

    def account(code, kind):
        if code not in known:
            accounts.append(
                dict(
                    id=len(accounts) + 1,
                    code=code,
                    kind=kind,
                    currency="CNY",
                    allow_negative=False,
                    balance=0,
                    created_at=now,
                )
            )
            known[code] = accounts[-1]["id"]
        return known[code]

    def entry(key, kind, milestone, at, legs):
        entries.append(
            dict(
                id=len(entries) + 1,
                idempotency_key=key,
                kind=kind,
                description="",
                contract_id=milestone["contract_id"],
                milestone_id=milestone["id"],
                created_at=at,
            )
        )
        for account_id, amount in legs:
            postings.append(
                dict(entry_id=len(entries), account_id=account_id, amount=amount, currency="CNY")
            )

    releases = []
    for milestone in funded:
        contract = by_id[milestone["contract_id"]]
        at = min(milestone["signed"] + dt.timedelta(days=rng.randrange(1, 30)), now)
        escrow = account(f"escrow:milestone:{milestone['id']}", "escrow")
        amount = milestone["amount_fen"]
        entry(
            f"fund:milestone:{milestone['id']}",
            "fund",
            milestone,
            at,
            [(1, -amount), (escrow, amount)],
        )
        if rng.random() < 0.85:
            releases.append((milestone, contract, escrow, at))
    for milestone, contract, escrow, funded_at in releases:
        at = min(funded_at + dt.timedelta(days=rng.randrange(5, 60)), now)
        amount = milestone["amount_fen"]
        commission = (amount * COMMISSION_BPS + 5000) // 10000
        brokerage = (amount * contract["brokerage_bps"] + 5000) // 10000
        payee = account(f"payable:contract:{contract['id']}:payee", "payable")
        legs = [(escrow, -amount), (2, commission), (payee, amount - commission - brokerage)]
        if brokerage:
            legs.append(
                (account(f"payable:contract:{contract['id']}:agency", "payable"), brokerage)
            )
        entry(f"release:milestone:{milestone['id']}", "release", milestone, at, legs)
    insert(LedgerAccount, accounts, "ledger accounts")
    insert_entries(entries, postings)
    return funded


def insert_entries(entries, postings):
    """Entries with their postings, in the same transactions (the database checks at commit
    that each entry balances); funds first, in entry order, so no escrow goes below zero."""
    by_entry = {}
    for posting in postings:
        by_entry.setdefault(posting["entry_id"], []).append(posting)
    with tqdm(total=len(entries), desc="journal entries", unit="entry", file=sys.stdout) as bar:
        for start in range(0, len(entries), BATCH):
            batch = entries[start : start + BATCH]
            with transaction():
                db.session.execute(sa.insert(JournalEntry.__table__), batch)
                legs = [leg for entry in batch for leg in by_entry[entry["id"]]]
                db.session.execute(sa.insert(Posting.__table__), legs)
            bar.update(len(batch))


def seed_disputes(rng, funded, count=500):
    now = utcnow()
    disputes, rulings = [], []
    for milestone in rng.sample(funded, min(count, len(funded))):
        opened = min(milestone["signed"] + dt.timedelta(days=rng.randrange(10, 90)), now)
        dispute_id = len(disputes) + 1
        ruled = rng.random() < 0.8
        disputes.append(
            dict(
                id=dispute_id,
                milestone_id=milestone["id"],
                contract_id=milestone["contract_id"],
                center_id=1,
                status="ruled" if ruled else "open",
                opened_by_id=10,
                opened_by_side="client",
                reason="Late.",
                amount_fen=milestone["amount_fen"],
                opened_at=opened,
                respond_by=opened + dt.timedelta(days=5),
            )
        )
        if ruled:
            rulings.append(
                dict(
                    dispute_id=dispute_id,
                    stage="first",
                    manager_id=11,
                    release_fen=milestone["amount_fen"],
                    refund_fen=0,
                    reason="Delivered.",
                    created_at=opened + dt.timedelta(days=rng.randrange(3, 30)),
                )
            )
    insert(Dispute, disputes, "disputes")
    insert(Ruling, rulings, "rulings")


def fix_sequences():
    """Rows were inserted with their ids: move PostgreSQL's sequences past them."""
    if db.engine.dialect.name != "postgresql":
        return
    with transaction():
        for table in db.metadata.sorted_tables:
            if "id" in table.c and table.c.id.autoincrement is not False:
                db.session.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE((SELECT max(id) FROM {table.name}), 1))"
                    )
                )
        db.session.execute(sa.text("ANALYZE"))


# --- timing --------------------------------------------------------------------------------


def timed(client, url, repeat):
    """Milliseconds of ``repeat`` GETs of ``url`` (after one untimed warm-up, which also
    computes what the summary lacks)."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times


def log_in(client, email):
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, "login failed"


def summarize_cold(app):
    """Milliseconds to compute the monthly summary of every month, as on the first request."""
    with app.test_request_context():
        started = time.perf_counter()
        summary.ensure(summary.first_month(), periods.current_month())
        return (time.perf_counter() - started) * 1000


def disclosure_cold(app):
    """Milliseconds to compute the public tables with their protection (the rules and the
    intruder check across tables), and to audit what they publish (``flask stats audit``);
    the problems the audit found."""
    with app.test_request_context():
        cutoff = periods.current_month_start()
        started = time.perf_counter()
        tables = public.compute(cutoff)
        computed = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        problems = audit.audit(cutoff, tables)
        audited = (time.perf_counter() - started) * 1000
    return computed, audited, problems


def measure(app, args):
    year = utcnow().year
    summary_ms = summarize_cold(app)
    computed, audited, problems = disclosure_cold(app)
    print(
        f"public tables protected in {computed:.0f} ms ({computed / summary_ms:.2f} x the cold "
        f"summary), audited in {audited:.0f} ms ({audited / summary_ms:.2f} x): "
        f"{len(problems)} problem(s)"
    )
    for problem in problems[:20]:
        print(f"  {problem}")
    if args.audit_only:
        return problems
    rows = [
        ("summary of every month, computed cold (once)", [summary_ms]),
        ("public tables protected, cold (once)", [computed]),
        ("flask stats audit (once)", [audited]),
    ]
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    anonymous = [
        ("public statistics page", "/statistics"),
        ("API stats: contracts by type", "/api/v1/stats/contracts-by-type?per_page=100"),
        ("API stats: contracts by month", "/api/v1/stats/contracts-by-month?per_page=100"),
        ("API tasks: first page", "/api/v1/tasks"),
        ("API tasks: type + center filter", "/api/v1/tasks?contract_type=transfer&center=qingdao"),
        ("API tasks: keyword", "/api/v1/tasks?q=alloy"),
        ("API centers", "/api/v1/centers?per_page=100"),
    ]
    for label, url in anonymous:
        rows.append((label, timed(client, url, args.repeat)))
    app.config["STATS_CACHE_SECONDS"] = 600
    rows.append(
        ("API stats: contracts by type (cached)", timed(client, anonymous[1][1], args.repeat))
    )
    for who, email in (
        ("admin", "admin@bench.example"),
        ("Qingdao manager", "qingdao@bench.example"),
    ):
        log_in(client, email)
        url = f"/statistics/dashboard?year_from={year - 2}&year_to={year}"
        rows.append((f"dashboard ({who}, 3 years)", timed(client, url, args.repeat)))
        client.post("/logout")
    log_in(client, "admin@bench.example")
    url = f"/statistics/dashboard?year_from={year - 4}&year_to={year}"
    rows.append(("dashboard (admin, 5 years)", timed(client, url, args.repeat)))
    app.config["STATS_REFRESH_SECONDS"] = 0
    rows.append(
        ("dashboard (admin, 5 years, running month recomputed)", timed(client, url, args.repeat))
    )
    return rows


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv=None):
    args = parse_args(argv)
    rng = random.Random(7)
    with scratch_database(args) as url:
        app = build_app(url)
        with app.app_context():
            flask_migrate.upgrade(directory=str(MIGRATIONS))
            backend = db.engine.dialect.name
            version = db.session.execute(
                sa.text(
                    "SELECT version()" if backend == "postgresql" else "SELECT sqlite_version()"
                )
            ).scalar()
            print(f"{backend} {version.split(' on ')[0]}; {os.cpu_count()} cores")
            started = time.perf_counter()
            centers, organizations, _, _ = seed_people(rng)
            contracts, milestones = seed_market(rng, args, centers, organizations)
            funded = seed_money(rng, contracts, milestones)
            seed_disputes(rng, funded)
            fix_sequences()
            print(
                f"seeded {args.tasks} tasks and {args.contracts} contracts in "
                f"{time.perf_counter() - started:.0f} s"
            )
        with app.app_context():
            db.session.remove()
        rows = measure(app, args)
        with app.app_context():
            db.engine.dispose()
    if args.audit_only:
        return 1 if rows else 0
    width = max(len(label) for label, _ in rows)
    print(f"\n{'request':<{width}}  median ms  p95 ms")
    for label, times in rows:
        print(f"{label:<{width}}  {statistics.median(times):9.1f}  {percentile(times, 0.95):6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
