"""The suite's shared fixtures and builders (registered by ``pytest_plugins`` in tests/conftest.py).

- The app on SQLite and again on PostgreSQL: every test that uses ``app`` runs once per
  database backend. PostgreSQL is the server at ``TEST_DATABASE_URL`` (default: the local one);
  each run creates its own database there and drops it at the end. When the server does not
  answer the PostgreSQL runs are skipped, unless ``REQUIRE_SERVICES=1``, which makes that a
  failure. The schema is created once per backend per process (xdist worker).
- A clean database per test (``db``): the test runs inside an outer transaction of one
  connection, which every session of the test joins through a savepoint (SQLAlchemy's
  "Joining a Session into an External Transaction", ``join_transaction_mode=
  "create_savepoint"``): ``transaction()`` commits by releasing its savepoint, after-commit
  callbacks run as after a real commit, and the end of the test rolls everything back. Nothing
  a test writes is ever committed, so nothing needs deleting, and no append-only trigger needs
  lifting. A test marked ``committing`` (other threads or processes must see its data: races,
  worker processes, app servers, the browser's live server) really commits, and every table is
  emptied after it, as before.
- A CSRF-aware ``Client``, ``login``, the builders (``make_user``, ``centers``, ``make_org``,
  ``make_task``, ``make_bid``, ``add_member``, ``people``, ``award``, ``case``), Redis and RQ
  (``redis_url``, ``rq_app``), a fake Stripe (``stripe_fake``) and the browser's ``log_in``.
  The people and organizations the builders make are verified (their addresses and their real
  names: 实名认证, vouched for as ``verification.vouch`` does) unless a test asks otherwise
  (``make_user(verified=False, real_name_verified=False)``, ``make_org(verified=False)``).
- The Hypothesis profiles ``default`` (``make test``) and ``deep`` (``.ci/run``,
  ``--hypothesis-profile=deep``); property tests take their example counts from the profile.

On PostgreSQL each run also creates two roles of its own, as production has them: the owner of
its databases, which creates the tables (``make_database_url`` gives the owner's URL), and the
app's role, granted only what ``flask db-grant`` grants, which the ``app`` fixture (and so every
RQ worker it starts) connects as. The cleanup after committing tests runs as the owner.
"""

import contextvars
import datetime as dt
import os
import re
import secrets
import sqlite3
import uuid
from types import SimpleNamespace

import flask_sqlalchemy.session
import pytest
import redis
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from itsdangerous import URLSafeTimedSerializer

from crowdsource import create_app, throttle
from crowdsource.accounts import centers as center_services
from crowdsource.accounts import identity, orgs, services, verification
from crowdsource.accounts.models import Organization
from crowdsource.audit import POSTGRESQL_NO_TRUNCATE as AUDIT_NO_TRUNCATE
from crowdsource.audit import SQLITE_APPEND_ONLY as AUDIT_APPEND_ONLY
from crowdsource.config import CONTENT_RATE_LIMITS
from crowdsource.db import db as _db
from crowdsource.db import transaction, utcnow
from crowdsource.db_roles import grant_app_role
from crowdsource.lifecycle import SYSTEM
from crowdsource.payments.ddl import POSTGRESQL_NO_TRUNCATE as LEDGER_NO_TRUNCATE
from crowdsource.payments.ddl import SQLITE_APPEND_ONLY as LEDGER_APPEND_ONLY
from tests.clock import start_at_test_now
from tests.helpers import (
    BUILT_VERIFIED,
    CREDIT_CODES,
    DISPUTE_AMOUNT,
    PASSWORD,
    task_details,
    unavailable,
)
from tests.helpers import add_member as _add_member
from tests.queues import Queues

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: SQLite triggers that make tables append-only (lifted while the tests clean up)
SQLITE_APPEND_ONLY = LEDGER_APPEND_ONLY + AUDIT_APPEND_ONLY
#: PostgreSQL triggers that refuse TRUNCATE (lifted, by the owner, while the tests clean up)
PG_NO_TRUNCATE = LEDGER_NO_TRUNCATE + AUDIT_NO_TRUNCATE

#: this run's roles: the server is shared by parallel runs and xdist workers (one process each)
RUN = uuid.uuid4().hex[:12]
OWNER_ROLE, APP_ROLE = f"cs_owner_{RUN}", f"cs_app_{RUN}"
#: passwords, in case the server asks for them (trust authentication does not)
PASSWORDS = {OWNER_ROLE: secrets.token_hex(16), APP_ROLE: secrets.token_hex(16)}
#: the owner's URL of each database, by the app's URL of it; engines as the owner, by URL
_OWNER_URLS = {}
_OWNER_ENGINES = {}


def _admin_url():
    return sa.engine.make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG_URL))


def _as_role(url, role):
    url = sa.engine.make_url(url).set(username=role, password=PASSWORDS[role])
    return url.render_as_string(hide_password=False)


def _create_roles(connection):
    for role in (OWNER_ROLE, APP_ROLE):
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
        )
        if not exists:
            connection.execute(
                sa.text(
                    f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                    f"PASSWORD '{PASSWORDS[role]}'"
                )
            )


def create_pg_database():
    """Create a fresh PostgreSQL database owned by this run's owner role; returns the owner's
    URL of it (string) or skips."""
    admin_url = _admin_url()
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"cs_test_{uuid.uuid4().hex[:12]}"
    try:
        with engine.connect() as connection:
            _create_roles(connection)
            connection.execute(sa.text(f'CREATE DATABASE "{name}" OWNER "{OWNER_ROLE}"'))
    except sa.exc.OperationalError as error:
        unavailable(f"PostgreSQL at {admin_url.render_as_string()} does not answer: {error}")
    finally:
        engine.dispose()
    return _as_role(admin_url.set(database=name), OWNER_ROLE)


def drop_pg_database(url):
    admin_url = _admin_url()
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = sa.engine.make_url(url).database
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def drop_pg_roles():
    """Drop this run's roles (after its databases, where their rights were)."""
    engine = sa.create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for role in (APP_ROLE, OWNER_ROLE):
            connection.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
    engine.dispose()


def owner_engine(app):
    """An engine connected as the owner of the app's database (an app that connects as the
    owner, like the concurrency tests' app, gets its own URL's)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    url = _OWNER_URLS.get(url, url)
    if url not in _OWNER_ENGINES:
        _OWNER_ENGINES[url] = sa.create_engine(url)
    return _OWNER_ENGINES[url]


def app_database_url(owner_url):
    """The URL the app connects with to the database of ``owner_url``: on PostgreSQL as this
    run's app role (see :func:`create_schema`), on SQLite the same."""
    if sa.engine.make_url(owner_url).get_backend_name() != "postgresql":
        return owner_url
    url = _as_role(owner_url, APP_ROLE)
    _OWNER_URLS[url] = owner_url
    return url


def create_schema(app):
    """Create the tables of the app's database as its owner, as ``flask db upgrade`` does in
    production, then grant the app's role its rights as ``flask db-grant`` does."""
    with app.app_context():
        if _db.engine.dialect.name != "postgresql":
            _db.create_all()
            return
    with owner_engine(app).begin() as connection:
        _db.metadata.create_all(connection)
        grant_app_role(connection, APP_ROLE)


@pytest.fixture(scope="session")
def make_database_url(tmp_path_factory):
    """Returns a function that makes an empty database of a backend and gives its URL."""
    created = []

    def make(backend):
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('db')}/crowdsource.db"
        url = create_pg_database()
        created.append(url)
        return url

    yield make
    for engine in _OWNER_ENGINES.values():
        engine.dispose()
    _OWNER_ENGINES.clear()
    for url in created:
        drop_pg_database(url)
    if created:
        drop_pg_roles()


def app_config(database_url, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": None,
        "MAIL_BACKEND": "locmem",
        "PUBLIC_URL": "http://crowdsource.test",
        "SWEEP_ON_ACCESS_SECONDS": 0,  # tests sweep explicitly, at the times they choose
        # A cheap scrypt: tests hash many passwords; production keeps werkzeug's default.
        "PASSWORD_HASH_METHOD": "scrypt:128:8:1",
        # Each test sees the statistics of its own data, and the rate limits only where a
        # test sets one: no figures cached in the process across tests, no shared counter.
        "STATS_CACHE_SECONDS": 0,
        "API_RATE_LIMIT": 0,
        "LOGIN_THROTTLE_CLIENT_FAILURES": 0,
        "LOGIN_THROTTLE_ACCOUNT_FAILURES": 0,
        "LOGIN_THROTTLE_SPRAY_ACCOUNTS": 0,
        "RESET_REQUESTS_PER_CLIENT": 0,
        **dict.fromkeys(CONTENT_RATE_LIMITS, ""),
        # counted in this process's memory, forgotten after each test (the db fixture)
        "RATELIMIT_STORAGE_URI": None,
        # one notification per event unless a test asks for digests
        "NOTIFICATION_DIGEST_AFTER": 0,
        # Managers and admins of the tests sign in with a password only; the two-factor tests
        # turn the rule on (tests/accounts/test_two_factor.py).
        "TWO_FACTOR_FOR_STAFF": False,
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request):
    return request.param


@pytest.fixture(scope="session")
def app(backend, make_database_url):
    app = create_app(app_config(app_database_url(make_database_url(backend))))
    create_schema(app)
    yield app
    with app.app_context():
        _db.engine.dispose()


def clear_database(app):
    """Remove every row of every table (a fresh database for the next test)."""
    with app.app_context():
        _db.session.remove()
        tables = list(reversed(_db.metadata.sorted_tables))
        if _db.engine.dialect.name == "postgresql":
            _truncate_as_owner(app, tables)
            return
        with _db.engine.begin() as connection:
            # The ledger's and the audit trail's rows are append-only even on SQLite: lift
            # that for the cleanup.
            for name, _ in SQLITE_APPEND_ONLY:
                connection.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
            for table in tables:
                connection.execute(table.delete())
            for _, statement in SQLITE_APPEND_ONLY:
                connection.execute(sa.text(statement))


def _truncate_as_owner(app, tables):
    """TRUNCATE every table as the owner (the app's role may not), with the triggers that
    refuse it disabled inside the same transaction: no other connection ever sees them off."""
    names = ", ".join(f'"{table.name}"' for table in tables)
    with owner_engine(app).begin() as connection:
        for table, trigger in PG_NO_TRUNCATE:
            connection.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
        connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        for table, trigger in PG_NO_TRUNCATE:
            connection.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))


def committing(request):
    """True when the test is marked ``committing``: its data must really be committed."""
    return request.node.get_closest_marker("committing") is not None


class SharedRows:
    """Rows built once for the tests of a module that only read them (and write their own
    rows on top): built in a transaction of one connection that is never committed, and rolled
    back after the module's last test. Each test that uses them runs in a savepoint of that
    transaction (the ``db`` fixture), rolled back at its end, so it sees the shared rows and
    none of another test's.

    ``build(function)`` runs ``function()`` once (inside a request context, the clock at the
    suite's now); it returns a dict of named structures (namespaces, dicts, lists of rows and
    values), kept with each row replaced by its class and id. ``rows(name)`` gives one back
    with its rows loaded in the test's own session."""

    def __init__(self, app):
        self.app, self.built = app, {}
        with app.app_context():
            self.connection = _db.engine.connect()
        self.outer = self.connection.begin()

    def build(self, function):
        if not self.built:
            start_at_test_now()
            factory = _db.session.session_factory
            options = dict(factory.kw)
            factory.configure(bind=self.connection, join_transaction_mode="create_savepoint")
            try:
                with self.app.test_request_context(headers={"Accept-Language": "en"}):
                    self.built = {name: _as_ids(v) for name, v in function().items()}
                    _db.session.remove()
            finally:
                factory.kw = options
        return self

    def rows(self, name):
        return _as_rows(self.built[name])

    def close(self):
        if self.outer.is_active:
            self.outer.rollback()
        self.connection.close()


class _Row(tuple):
    """A row kept by SharedRows: its class and id."""


def _mapped(value, row):
    """``value`` with each row in it (an ORM object or a _Row) replaced by ``row(it)``,
    through namespaces, dicts, lists and tuples."""
    if isinstance(value, (_db.Model, _Row)):
        return row(value)
    if isinstance(value, SimpleNamespace):
        return SimpleNamespace(**{k: _mapped(v, row) for k, v in vars(value).items()})
    if isinstance(value, dict):
        return {k: _mapped(v, row) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not isinstance(value, _Row):
        return type(value)(_mapped(v, row) for v in value)
    return value


def _as_ids(value):
    return _mapped(value, lambda obj: _Row((type(obj), sa.inspect(obj).identity)))


def _as_rows(value):
    return _mapped(value, lambda kept: _db.session.get(*kept))


#: the SharedRows of the module running now, by module name
_SHARED = {}


@pytest.fixture(scope="module")
def shared_rows(request, app):
    """The module's SharedRows (a module's conftest builds its rows with it)."""
    shared = SharedRows(app)
    _SHARED[request.module.__name__] = shared
    yield shared
    del _SHARED[request.module.__name__]
    shared.close()


def shared_rows_of(request):
    """The module's SharedRows when the test uses them, else None. Once a module has them,
    every later test of the module runs on them too: their transaction stays open for the
    module, and no other connection could write beside it (SQLite has one writer; PostgreSQL
    would make a test's own rows wait on the shared rows' unique values). A committing test
    cannot share them (nothing is committed there)."""
    if committing(request):
        if _SHARED.get(request.module.__name__) is not None:
            pytest.fail("a committing test cannot run in a module whose tests share rows")
        return None
    if "shared_rows" in request.fixturenames:
        return request.getfixturevalue("shared_rows")
    return _SHARED.get(request.module.__name__)


@pytest.fixture
def db(request, app):
    """The database, empty at the start of the test, inside a request context of an English
    reader (so that messages raised by services called from tests are in English).

    Everything the test writes is rolled back at its end (see the module's docstring); a test
    marked ``committing`` commits for real and the tables are emptied after it."""
    if committing(request):
        with app.test_request_context(headers={"Accept-Language": "en"}):
            yield _db
            _db.session.remove()
        clear_database(app)
        throttle.reset(app)
        return
    shared = shared_rows_of(request)
    if shared is not None:
        # the module's shared rows are there; this test's own writes go in a savepoint of
        # their transaction, rolled back at its end
        connection = shared.connection
        outer = connection.begin_nested()
    else:
        with app.app_context():
            connection = _db.engine.connect()
        # Outside a request: on SQLite this is BEGIN IMMEDIATE (crowdsource.db), the write
        # lock held by this one connection for the whole test.
        outer = connection.begin()
    factory = _db.session.session_factory
    options = dict(factory.kw)
    factory.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        with app.test_request_context(headers={"Accept-Language": "en"}):
            yield _db
            _db.session.remove()
    finally:
        factory.kw = options
        if outer.is_active:
            outer.rollback()
        if shared is None:
            connection.close()
        throttle.reset(app)  # no test sees another's counts
    if os.environ.get("TEST_CHECK_ROLLBACK") == "1":
        _check_nothing_committed(app)


def _check_nothing_committed(app):
    """With TEST_CHECK_ROLLBACK=1: fail a test that committed rows although it is not marked
    ``committing`` (another process or connection wrote them), and empty the tables for the
    next test."""
    with app.app_context(), _db.engine.connect() as connection:
        left = {
            table.name: count
            for table in _db.metadata.sorted_tables
            if (count := connection.scalar(sa.select(sa.func.count()).select_from(table)))
        }
    if left:
        clear_database(app)
        pytest.fail(f"rows committed by a test not marked committing: {left}")


def _bound_get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
    """Flask-SQLAlchemy's ``get_bind`` picks an engine by bind key and ignores the session's
    own ``bind``; a session bound to the test's connection (``db``) must use that connection."""
    if bind is None and self.bind is not None:
        return self.bind
    return _flask_get_bind(self, mapper=mapper, clause=clause, bind=bind, **kwargs)


_flask_get_bind = flask_sqlalchemy.session.Session.get_bind
flask_sqlalchemy.session.Session.get_bind = _bound_get_bind


class Client(FlaskClient):
    """A test client that sends a valid CSRF token with every POST, unless ``csrf=False``.

    Each request runs as in a server: in app and request contexts of its own (its own ``g``
    and database session), never in the test's app context. The test's session commits before
    and is expired after, so the test sees what the request stored.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            _db.session.commit()
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            _db.session.expire_all()
        return response

    def csrf_token(self):
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", secrets.token_hex(20))
        serializer = URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token")
        return serializer.dumps(raw)

    def post(self, *args, csrf=True, **kwargs):
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)):
            data = dict(data or {})
            data.setdefault("csrf_token", self.csrf_token())
            kwargs["data"] = data
        return super().post(*args, **kwargs)


@pytest.fixture
def client(app, db):
    app.test_client_class = Client
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def login(client):
    """``login(user)`` logs ``client`` in as ``user`` through the login form."""

    def login_as(user, password=PASSWORD):
        client.post("/logout")
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, "login failed"
        return client

    return login_as


@pytest.fixture
def outbox(app, db):
    """The mail sent during the test."""
    mailman = app.extensions["mailman"]
    mailman.outbox = []
    return mailman.outbox


@pytest.fixture
def make_user(db):
    return user_builder()


def user_builder():
    """``make(email=None, name=None, …)``: a registered user (the fixture ``make_user``), with
    a verified address (``verified=False``: not yet) and verified real name
    (``real_name_verified=False``: not yet)."""
    counter = iter(range(1, 10_000))

    def make(
        email=None,
        name=None,
        password=PASSWORD,
        locale="en",
        verified=True,
        real_name_verified=True,
        **attributes,
    ):
        number = next(counter)
        with transaction():
            user = services.register_user(
                email or f"user{number}@example.com",
                password,
                name or f"User {number}",
                locale,
                email_verified_at=utcnow() if verified else None,
            )
            for key, value in attributes.items():
                setattr(user, key, value)
            if real_name_verified:
                verification.vouch(SYSTEM, user, BUILT_VERIFIED)
        return user

    return make


@pytest.fixture
def centers(request, db):
    """Shandong with Qingdao (and Laoshan below it) and Zibo; returned by code (the module's
    shared ones when it has them)."""
    shared = shared_rows_of(request)
    if shared is not None and "centers" in shared.built:
        return shared.rows("centers")
    return add_centers()


def add_centers():
    """Shandong with Qingdao (and Laoshan below it) and Zibo; returned by code."""
    with transaction():
        shandong = center_services.add_center("shandong", "山东省", "Shandong", "province")
        qingdao = center_services.add_center("qingdao", "青岛市", "Qingdao", "city", shandong)
        zibo = center_services.add_center("zibo", "淄博市", "Zibo", "city", shandong)
        laoshan = center_services.add_center(
            "laoshan", "崂山区", "Laoshan District", "county", qingdao
        )
    return {"shandong": shandong, "qingdao": qingdao, "zibo": zibo, "laoshan": laoshan}


@pytest.fixture
def make_org(db, centers):
    return org_builder(centers)


def org_builder(centers):
    """``make(owner, name=…, kind=…, ownership=None, center=None, verified=True)``: an
    organization (Qingdao's by default) with the next of CREDIT_CODES (the fixture
    ``make_org``), named "Haian Robotics" unless named or that name is taken (then "Haian
    Robotics 2", 3, …), verified (实名认证) unless ``verified=False``."""
    codes = iter(CREDIT_CODES)

    def next_code():
        """The next code no organization has (the module's shared people may hold some)."""
        taken = set(_db.session.scalars(sa.select(Organization.credit_code)))
        return next(code for code in codes if code not in taken)

    def free_name():
        """The first default name no organization's looks like."""
        taken = set(_db.session.scalars(sa.select(Organization.name_key)))
        names = ("Haian Robotics", *(f"Haian Robotics {number}" for number in range(2, 1000)))
        return next(name for name in names if identity.name_key(name) not in taken)

    def make(owner, name=None, kind="enterprise", ownership=None, center=None, verified=True):
        with transaction():
            organization = orgs.create_organization(
                owner,
                name or free_name(),
                kind,
                ownership,
                next_code(),
                (center or centers["qingdao"]).id,
                "",
            )
            if verified:
                verification.vouch(SYSTEM, organization, BUILT_VERIFIED)
        return organization

    return make


@pytest.fixture
def make_task(db, centers):
    """``make_task(owner, organization, **overrides)``: a published (open) task by default;
    ``publish=False`` keeps it a draft."""
    return task_builder()


def task_builder():
    """The function of the fixture ``make_task``."""
    from crowdsource.tasks import services as task_services

    def make(owner, organization, publish=True, **overrides):
        overrides.setdefault("center_id", organization.center_id)
        details = task_details(**overrides)
        with transaction():
            task = task_services.create_task(owner, organization, details)
            if publish:
                task_services.publish_task(owner, task)
        return task

    return make


@pytest.fixture
def make_bid(db):
    """``make_bid(bidder, task, price_fen=…, agency=None, …)``: a bid with one or two milestones."""
    return bid_builder()


def bid_builder():
    """The function of the fixture ``make_bid``."""
    from crowdsource.bids import services as bid_services

    def make(bidder, task, price_fen=6_000_000, milestones=None, **extra):
        due = (utcnow() + dt.timedelta(days=30)).date()
        if milestones is None:
            first = price_fen // 2
            milestones = [("Prototype", first, due), ("Line trial", price_fen - first, due)]
        details = bid_services.BidDetails(
            price_fen=price_fen,
            duration_days=45,
            proposal="We have built **three** such systems.",
            milestones=[bid_services.ProposedMilestone(*m) for m in milestones],
            **extra,
        )
        with transaction():
            return bid_services.place_bid(bidder, task, details)

    return make


@pytest.fixture
def add_member(db):
    """``add_member(user, organization, role=Role.MEMBER)``: the user joins the organization."""
    return _add_member


@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    """The upload folder of this test: an empty temporary folder."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return folder


# --- the people and contracts of the money tests (payments, contracts, disputes, browser) -----


@pytest.fixture
def people(request, make_user, make_org, centers):
    """An enterprise in Laoshan (and one in Zibo), an individual solver, an agency brokering for
    a university, an outsider, the admin and a manager of Shandong, Qingdao and Zibo each (the
    module's shared ones when it has them: see ``shared_people``)."""
    shared = shared_rows_of(request)
    if shared is not None and "people" in shared.built:
        return shared.rows("people")
    return build_people(make_user, make_org, centers)


@pytest.fixture(scope="module")
def shared_people(shared_rows):
    """The centers and ``people`` built once for the tests of a module that uses this fixture
    (``pytestmark = pytest.mark.usefixtures("shared_people")``): each test gets them in a
    savepoint of its own (SharedRows). For modules whose tests only add rows of their own on
    top of the people and commit nothing."""

    def build():
        centers = add_centers()
        return {
            "centers": centers,
            "people": build_people(user_builder(), org_builder(centers), centers),
        }

    return shared_rows.build(build)


def build_people(make_user, make_org, centers):
    """The people of the fixture ``people``, made with the given builders."""
    owner = make_user(name="Li Wei", email="li.wei@haian.example")
    enterprise = make_org(owner, name="Haian Robotics", center=centers["laoshan"])
    broker = make_user(name="Sun Mei", email="sun.mei@agency.example")
    agency = make_org(broker, name="Jiaozhou Tech Transfer", kind="agency", ownership="private")
    professor = make_user(name="Prof. Qian", email="qian@university.example")
    institute = make_org(
        professor, name="Qingdao University of Science", kind="institution", ownership="university"
    )
    zibo_owner = make_user(name="Ma Lin", email="ma.lin@zibo.example")
    zibo_enterprise = make_org(zibo_owner, name="Zibo Ceramics", center=centers["zibo"])
    managers = {}
    for code in ("shandong", "qingdao", "zibo"):
        managers[code] = make_user(name=f"Manager of {code}", email=f"{code}@centers.example")
        with transaction():
            center_services.make_manager(managers[code], centers[code])
    return SimpleNamespace(
        owner=owner,
        enterprise=enterprise,
        zibo_owner=zibo_owner,
        zibo_enterprise=zibo_enterprise,
        solver=make_user(name="Zhao Lei", email="zhao.lei@example.com"),
        broker=broker,
        agency=agency,
        professor=professor,
        institute=institute,
        outsider=make_user(name="Nosy Parker", email="nosy@example.com"),
        admin=make_user(name="Admin", email="admin@platform.example", is_admin=True),
        managers=managers,
        centers=centers,
    )


@pytest.fixture
def award(people, make_task, make_bid):
    """``award(amounts, brokerage_bps=None, bidder=None, zibo=False, **task_fields)``: a task of
    the Laoshan enterprise (the Zibo one with ``zibo=True``) bid on and awarded; returns the
    contract. With ``brokerage_bps`` the agency bids for the university at that rate; else the
    individual solver (or ``bidder``) bids for themselves."""
    from crowdsource.bids import offers
    from crowdsource.tasks import services as task_services

    def make(amounts=(500_000, 500_000), brokerage_bps=None, bidder=None, zibo=False, **fields):
        owner = people.zibo_owner if zibo else people.owner
        enterprise = people.zibo_enterprise if zibo else people.enterprise
        task = make_task(owner, enterprise, **fields)
        due = (utcnow() + dt.timedelta(days=30)).date()
        milestones = [(f"Milestone {i}", amount, due) for i, amount in enumerate(amounts, 1)]
        extra = {}
        if brokerage_bps is not None:
            extra = dict(
                agency=people.agency,
                payee_organization=people.institute,
                brokerage_bps=brokerage_bps,
            )
            bidder = people.broker
        bid = make_bid(
            bidder or people.solver, task, price_fen=sum(amounts), milestones=milestones, **extra
        )
        with transaction():
            task_services.close_bidding(owner, task)
            return offers.sign_both(owner, bid)

    return make


@pytest.fixture
def case(people, award):
    """A funded and delivered milestone of ¥10,000 (and a second, unfunded one) of an agency's
    contract brokered for a university, under 5 % commission, a 1 % client-side fee and 10 %
    brokerage, in Laoshan (below Qingdao, below Shandong)."""
    from crowdsource.payments import policy
    from tests.payments.support import deliver, fund

    with transaction():
        policy.set_policy(people.admin, None, None, 500, 100, 0, 3000)
    contract = award([DISPUTE_AMOUNT, 200_000], brokerage_bps=1000)
    first, second = contract.milestones
    fund(first, people.owner, people.managers["qingdao"])
    deliver(people.broker, first)
    return SimpleNamespace(contract=contract, milestone=first, second=second)


# --- Stripe, played by a local HTTP server --------------------------------------------------


@pytest.fixture
def stripe_fake(app, monkeypatch):
    """A fake Stripe (tests.payments.fake_stripe) on a free port, and the app switched to it:
    test keys, its URL as the API base and a short client timeout."""
    from tests.payments.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe

    fake = FakeStripe().start()
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", fake.url)
    monkeypatch.setitem(app.config, "STRIPE_TIMEOUT_SECONDS", 2)
    yield fake
    fake.stop()


# --- Redis and RQ ------------------------------------------------------------------------------

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url():
    connection = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError as error:
        unavailable(f"Redis at {TEST_REDIS_URL} does not answer: {error}")
    return TEST_REDIS_URL


@pytest.fixture
def counting_app(app, db):
    """``make(storage_uri, **config)``: another app server on the test's database, counting its
    rate limits at ``storage_uri`` (a Redis URL, or memory://); ``config`` as in app_config."""
    made = []

    def make(storage_uri, **config):
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        other = create_app(app_config(url, RATELIMIT_STORAGE_URI=storage_uri, **config))
        other.test_client_class = Client
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            _db.engine.dispose()


@pytest.fixture
def rq_app(app, monkeypatch):
    """The app with RQ switched on, on a queue of its own; returns a function that installs
    the queue (given a Redis URL and optionally a connection)."""

    switched = []

    def switch_on(url, connection=None):
        monkeypatch.setitem(app.config, "REDIS_URL", url)
        queues = Queues(connection or redis.Redis.from_url(url)).install(app, monkeypatch)
        switched.append(queues)
        return queues

    yield switch_on
    for queues in switched:
        queues.delete_everything()


# --- the browser -------------------------------------------------------------------------------


def log_in(page, base_url, email, password=PASSWORD):
    """Log in through the login form of the page."""
    page.goto(f"{base_url}/login")
    page.get_by_label(re.compile("Email|邮箱")).fill(email)
    page.get_by_label(re.compile("^(Password|密码)$")).fill(password)
    page.locator("form:not([action]) button[type=submit]").click()


# --- which tests commit -----------------------------------------------------------------------

#: fixtures whose tests must commit: another process or thread reads the test's data
COMMITTING_FIXTURES = {"live_server", "workers", "app_server", "redis_queue"}


BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        action="append",
        choices=BACKENDS,
        help="run the tests on this database backend only (repeatable; default: both). "
        "With sqlite alone, the tests marked postgresql are left out too (make test-fast).",
    )


def _runs_on(item, backends):
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get("backend") if callspec else None
    if backend == "sqlite" and item.get_closest_marker("postgresql"):
        return False  # row locks, concurrency: PostgreSQL only
    if backend is not None:
        return backend in backends
    # a test of no backend: only tests marked postgresql need the server
    return "postgresql" in backends or not item.get_closest_marker("postgresql")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgresql`` (row locks, concurrency) run on PostgreSQL only, and only the
    ``--backend`` given run; tests that use a live server or worker processes commit
    (``committing``)."""
    backends = set(config.getoption("backend") or BACKENDS)
    kept, dropped = [], []
    for item in items:
        if COMMITTING_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.committing)
        (kept if _runs_on(item, backends) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


# --- throwaway databases need not wait for the disk -------------------------------------------


@sa.event.listens_for(sa.engine.Engine, "connect")
def _no_fsync(dbapi_connection, connection_record):
    """The tests' databases are thrown away: a commit need not wait for the disk (SQLite's
    synchronous, PostgreSQL's synchronous_commit; what a commit makes visible is the same)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous = OFF")
    elif type(dbapi_connection).__module__.startswith("psycopg"):
        dbapi_connection.execute("SET synchronous_commit TO off")
        dbapi_connection.commit()


# --- Hypothesis --------------------------------------------------------------------------------

_HYPOTHESIS_COMMON = dict(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
#: ``make test``: Hypothesis's usual 100 examples (fewer for the expensive tests, see
#: tests.helpers.examples), sequences of 30 steps
settings.register_profile("default", max_examples=100, stateful_step_count=30, **_HYPOTHESIS_COMMON)
#: ``make test-deep`` (``.ci/run``): ten times the examples, sequences of 50 steps
settings.register_profile("deep", max_examples=1000, stateful_step_count=50, **_HYPOTHESIS_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
