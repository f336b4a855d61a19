"""Fixtures: the app on SQLite and again on PostgreSQL, a clean database per test, a CSRF-aware
client, login and builders.

Every test that uses ``app`` runs once per database backend. PostgreSQL is the server at
``TEST_DATABASE_URL`` (default: the local one); each run creates its own database there and
drops it at the end. When the server does not answer the PostgreSQL runs are skipped, unless
``REQUIRE_SERVICES=1``, which makes that a failure.

On PostgreSQL each run also creates two roles of its own, as production has them: the owner of
its databases, which creates the tables (``make_database_url`` gives the owner's URL), and the
app's role, granted only what ``flask db-grant`` grants, which the ``app`` fixture (and so every
RQ worker it starts) connects as. The cleanup between tests runs as the owner.
"""

import contextvars
import os
import secrets
import uuid

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from crowdsource import create_app
from crowdsource.accounts import centers as center_services
from crowdsource.accounts import orgs, services
from crowdsource.audit import POSTGRESQL_NO_TRUNCATE as AUDIT_NO_TRUNCATE
from crowdsource.audit import SQLITE_APPEND_ONLY as AUDIT_APPEND_ONLY
from crowdsource.db import db as _db
from crowdsource.db import transaction, utcnow
from crowdsource.db_roles import grant_app_role
from crowdsource.payments.ddl import POSTGRESQL_NO_TRUNCATE as LEDGER_NO_TRUNCATE
from crowdsource.payments.ddl import SQLITE_APPEND_ONLY as LEDGER_APPEND_ONLY
from tests.helpers import PASSWORD, task_details, unavailable

#: the one clock of the suite (TEST_NOW, the ``clock`` fixture); flask worker processes (workers)
pytest_plugins = ["tests.clock", "tests.workers"]

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


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgresql`` (row locks, concurrency) run on PostgreSQL only."""
    kept, dropped = [], []
    for item in items:
        on_sqlite = (
            getattr(item, "callspec", None) and item.callspec.params.get("backend") == "sqlite"
        )
        (dropped if on_sqlite and item.get_closest_marker("postgresql") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


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
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        # Each test sees the statistics of its own data, and the rate limits only where a
        # test sets one: no figures cached in the process across tests, no shared counter.
        "STATS_CACHE_SECONDS": 0,
        "API_RATE_LIMIT": 0,
        "LOGIN_THROTTLE_CLIENT_FAILURES": 0,
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


@pytest.fixture
def db(app):
    """The database, empty at the start of the test, inside a request context of an English
    reader (so that messages raised by services called from tests are in English)."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield _db
        _db.session.remove()
    clear_database(app)


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
    counter = iter(range(1, 10_000))

    def make(email=None, name=None, password=PASSWORD, locale="en", **attributes):
        number = next(counter)
        with transaction():
            user = services.register_user(
                email or f"user{number}@example.com", password, name or f"User {number}", locale
            )
            for key, value in attributes.items():
                setattr(user, key, value)
        return user

    return make


@pytest.fixture
def centers(db):
    """Shandong with Qingdao (and Laoshan below it) and Zibo; returned by code."""
    with transaction():
        shandong = center_services.add_center("shandong", "山东省", "Shandong", "province")
        qingdao = center_services.add_center("qingdao", "青岛市", "Qingdao", "city", shandong)
        zibo = center_services.add_center("zibo", "淄博市", "Zibo", "city", shandong)
        laoshan = center_services.add_center(
            "laoshan", "崂山区", "Laoshan District", "county", qingdao
        )
    return {"shandong": shandong, "qingdao": qingdao, "zibo": zibo, "laoshan": laoshan}


#: valid unified social credit codes for tests (check characters computed per GB 32100-2015)
CREDIT_CODES = [
    "91370200MA3C9F2X38",
    "52370000MJD61234XE",
    "12370000495571234X",
    "91350100M000100Y43",
    "91110000802100433B",
]


@pytest.fixture
def make_org(db, centers):
    codes = iter(CREDIT_CODES)

    def make(owner, name="Haian Robotics", kind="enterprise", ownership=None, center=None):
        with transaction():
            return orgs.create_organization(
                owner,
                name,
                kind,
                ownership,
                next(codes),
                (center or centers["qingdao"]).id,
                "",
            )

    return make


@pytest.fixture
def make_task(db, centers):
    """``make_task(owner, organization, **overrides)``: a published (open) task by default;
    ``publish=False`` keeps it a draft."""

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
    import datetime as dt

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
