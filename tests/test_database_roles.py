"""Least privilege on PostgreSQL: the app connects as a role that may read and write rows and
nothing more, and the append-only tables refuse TRUNCATE even to their owner.

The ``app`` fixture connects as this run's app role (tests/conftest.py); the owner's connection
is the one the migrations use. ``flask db-grant`` is shown on a database built by the
migrations, as production builds it.
"""

import flask_migrate
import pytest
import sqlalchemy as sa

from crowdsource import audit, create_app
from crowdsource.accounts import centers as center_services
from crowdsource.accounts.models import Center
from crowdsource.db import db, transaction
from crowdsource.payments import ledger
from crowdsource.payments.models import AccountKind
from crowdsource.stats import summary
from crowdsource.stats.models import StatsMonth
from tests.helpers import table_counts
from tests.plugin import (
    APP_ROLE,
    OWNER_ROLE,
    _admin_url,
    app_config,
    app_database_url,
    owner_engine,
)

#: the server's superuser, who made this run's roles and databases
SUPERUSER = _admin_url().username

#: the rights of a role on each table and sequence of the schema, as the catalog holds them
RIGHTS = sa.text(
    "SELECT c.relname, a.privilege_type FROM pg_class c, aclexplode(c.relacl) a "
    "WHERE a.grantee = CAST(:role AS regrole) "
    "AND c.relnamespace = CAST(current_schema() AS regnamespace)"
)
TABLES_AND_SEQUENCES = sa.text(
    "SELECT relname, relkind FROM pg_class "
    "WHERE relnamespace = CAST(current_schema() AS regnamespace) AND relkind IN ('r', 'S')"
)


@pytest.fixture
def books(db):
    """A committed entry (¥1,000.00 from the bank into a milestone's escrow) and audit event."""
    with transaction():
        bank = ledger.account("clearing:bank", AccountKind.CLEARING)
        held = ledger.account("escrow:milestone:1", AccountKind.ESCROW)
        ledger.post("fund:test", "fund", [ledger.Leg(bank, -100_000), ledger.Leg(held, 100_000)])
        audit.record("milestone", 1, "status", from_state="pending", to_state="funded")
    return table_counts()


@pytest.mark.postgresql
def test_the_app_connects_as_a_role_without_the_owners_rights(app, db):
    role = db.session.execute(
        sa.text(
            "SELECT current_user, rolsuper, rolcreaterole, rolcreatedb, "
            "pg_has_role(current_user, :owner, 'MEMBER') FROM pg_roles "
            "WHERE rolname = current_user"
        ),
        {"owner": OWNER_ROLE},
    ).one()
    assert tuple(role) == (APP_ROLE, False, False, False, False)


@pytest.mark.postgresql
@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("TRUNCATE postings", "permission denied for table postings"),
        ("TRUNCATE journal_entries CASCADE", "permission denied for table journal_entries"),
        ("TRUNCATE audit_events", "permission denied for table audit_events"),
        ("TRUNCATE ledger_accounts CASCADE", "permission denied for table ledger_accounts"),
        ("ALTER TABLE postings DISABLE TRIGGER postings_append_only", "must be owner"),
        ("ALTER TABLE postings DISABLE TRIGGER ALL", "must be owner"),
        ("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_truncate", "must be owner"),
        ("DROP TRIGGER postings_append_only ON postings", "must be owner"),
        ("DROP TABLE postings CASCADE", "must be owner"),
        ("ALTER TABLE postings DROP CONSTRAINT pk_postings CASCADE", "must be owner"),
        (
            "CREATE TRIGGER sneak BEFORE INSERT ON postings "
            "FOR EACH ROW EXECUTE FUNCTION ledger_apply_posting()",
            "permission denied for table postings",
        ),
        ("CREATE TABLE sneak (id integer)", "permission denied for schema public"),
        ("SET session_replication_role = replica", "permission denied to set parameter"),
        ("UPDATE postings SET amount = 0", "append-only"),
        ("DELETE FROM postings", "append-only"),
        ("DELETE FROM journal_entries", "append-only"),
        ("UPDATE audit_events SET reason = 'edited'", "append-only"),
        ("DELETE FROM audit_events", "append-only"),
    ],
)
def test_the_app_role_cannot_remove_or_unprotect_the_books(books, statement, refusal):
    with pytest.raises(sa.exc.DBAPIError, match=refusal), transaction():
        db.session.execute(sa.text(statement))
    db.session.rollback()
    assert table_counts() == books
    assert ledger.balance("escrow:milestone:1") == 100_000
    assert ledger.check() == []


@pytest.mark.postgresql
@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE postings",
        "TRUNCATE journal_entries CASCADE",
        "TRUNCATE audit_events",
        # a TRUNCATE that reaches the ledger by cascading from the accounts
        "TRUNCATE ledger_accounts CASCADE",
    ],
)
@pytest.mark.committing  # the owner's TRUNCATE would wait for the test's open transaction
def test_the_owner_cannot_truncate_the_books_either(app, books, statement):
    db.session.commit()  # the test's session holds no lock the owner would wait for
    owner = owner_engine(app)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), owner.begin() as connection:
        assert connection.scalar(sa.text("SELECT current_user")) == OWNER_ROLE
        connection.execute(sa.text(statement))
    assert table_counts() == books
    assert ledger.check() == []


# --- flask db-grant, on a database the migrations built ----------------------------------


@pytest.fixture(scope="module")
def owner_url(make_database_url):
    return make_database_url("postgresql")


@pytest.fixture(scope="module")
def owner_app(owner_url):
    """The app as the owner: what runs ``flask db upgrade`` and ``flask db-grant``."""
    app = create_app(app_config(owner_url))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def served(owner_url, owner_app):
    """The app as its own role on the migrated database: granted at revision 0005, then
    upgraded to the newest (0006 adds the statistics tables, after the grant)."""
    app = create_app(app_config(app_database_url(owner_url)))
    with owner_app.app_context():
        flask_migrate.upgrade(revision="0005_disputes")
    with app.app_context():  # a role is given nothing until it is granted
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied for table centers"):
            db.session.scalar(sa.select(sa.func.count(Center.id)))
        db.session.rollback()
    with owner_app.app_context():
        grant = owner_app.test_cli_runner().invoke(args=["db-grant", APP_ROLE])
        assert grant.exit_code == 0, grant.output
        flask_migrate.upgrade()
        db.engine.dispose()
    yield app
    with app.app_context():
        db.engine.dispose()


def rights(app, role):
    with app.app_context(), db.engine.connect() as connection:
        granted = {}
        for name, right in connection.execute(RIGHTS, {"role": role}):
            granted.setdefault(name, set()).add(right)
        every = dict(connection.execute(TABLES_AND_SEQUENCES).all())
    return granted, every


@pytest.mark.postgresql
def test_db_grant_lets_the_app_work_on_tables_made_before_and_after_it(served):
    with served.test_request_context(headers={"Accept-Language": "en"}):
        with transaction():
            center_services.add_center("shandong", "山东省", "Shandong", "province")
        # stats_months and stats_cells were created by the upgrade after the grant
        summary.refresh(["2026-01"])
        assert db.session.scalar(sa.select(StatsMonth.month)) == "2026-01"
        assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), transaction():
            db.session.execute(sa.text("UPDATE alembic_version SET version_num = 'x'"))
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), transaction():
            db.session.execute(sa.text("TRUNCATE stats_cells"))


@pytest.mark.postgresql
def test_db_grant_gives_exactly_the_app_rights_and_again_the_same(served, owner_app):
    with owner_app.app_context(), db.engine.begin() as connection:
        # more than the app should have, granted by hand: the command takes it back
        connection.execute(sa.text(f'GRANT TRUNCATE, TRIGGER ON postings TO "{APP_ROLE}"'))
    for _ in range(2):
        with owner_app.app_context():
            result = owner_app.test_cli_runner().invoke(args=["db-grant", APP_ROLE])
            db.engine.dispose()
        assert result.exit_code == 0, result.output
        assert f"{APP_ROLE} may read and write the rows" in result.output
        granted, every = rights(owner_app, APP_ROLE)
        expected = {
            name: {"USAGE", "SELECT"} if kind == "S" else {"SELECT", "INSERT", "UPDATE", "DELETE"}
            for name, kind in every.items()
        }
        expected["alembic_version"] = {"SELECT"}
        assert granted == expected
        assert {"postings", "stats_cells", "postings_id_seq"} <= set(granted)


@pytest.mark.postgresql
@pytest.mark.parametrize(
    ("role", "refusal"),
    [
        (SUPERUSER, f"{SUPERUSER!r} is a superuser"),
        (OWNER_ROLE, "is the owner"),
        ("no_such_role_at_all", "There is no role 'no_such_role_at_all'"),
    ],
    # The owner's name differs in each process of a run: ids that xdist's workers agree on.
    ids=["superuser", "owner", "missing"],
)
def test_db_grant_refuses_a_role_that_would_keep_more_rights(served, owner_app, role, refusal):
    before = rights(owner_app, APP_ROLE)
    with owner_app.app_context():
        result = owner_app.test_cli_runner().invoke(args=["db-grant", role])
        db.engine.dispose()
    assert result.exit_code == 1
    assert refusal in result.output
    assert rights(owner_app, APP_ROLE) == before


def test_db_grant_on_sqlite_says_roles_are_a_postgresql_matter(tmp_path):
    app = create_app(app_config(f"sqlite:///{tmp_path}/crowdsource.db"))
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["db-grant", "crowdsource_app"])
    assert result.exit_code == 1
    assert "Roles are a PostgreSQL matter" in result.output
