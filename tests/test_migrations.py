"""The committed migrations build exactly the schema the models describe, triggers included,
and move the data they must."""

import datetime as dt

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crowdsource import create_app
from crowdsource.accounts.identity import name_key
from crowdsource.db import db
from tests.helpers import CREDIT_CODES as CODES
from tests.plugin import app_config

#: every trigger of the database: its table, its name and, on PostgreSQL, its kind (when, on
#: which statements, per row or statement) and function (autogenerate does not see triggers)
TRIGGERS = {
    "postgresql": sa.text(
        "SELECT tgrelid::regclass::text, tgname, tgtype, tgfoid::regproc::text, tgdeferrable "
        "FROM pg_trigger WHERE NOT tgisinternal"
    ),
    "sqlite": sa.text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"),
}

#: some of the triggers that must be among them
APPEND_ONLY = {
    "postgresql": {
        "postings_append_only",
        "journal_entries_append_only",
        "audit_events_append_only",
        "postings_no_truncate",
        "journal_entries_no_truncate",
        "audit_events_no_truncate",
    },
    "sqlite": {"postings_append_only_delete", "audit_events_append_only_update"},
}


def triggers():
    with db.engine.connect() as connection:
        return set(connection.execute(TRIGGERS[connection.dialect.name]).all())


def test_upgrade_on_an_empty_database_yields_the_models_schema(backend, make_database_url):
    app = create_app(app_config(make_database_url(backend)))
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        flask_migrate.downgrade(revision="base")
        flask_migrate.upgrade()
        db.engine.dispose()


def test_upgrade_installs_the_same_triggers_as_the_models(backend, make_database_url):
    migrated = create_app(app_config(make_database_url(backend)))
    with migrated.app_context():
        flask_migrate.upgrade()
        from_migrations = triggers()
        db.engine.dispose()
    created = create_app(app_config(make_database_url(backend)))
    with created.app_context():
        db.create_all()
        from_models = triggers()
        db.engine.dispose()
    assert from_migrations == from_models
    # The comparison covers the append-only rules, TRUNCATE included on PostgreSQL.
    assert APPEND_ONLY[backend] <= {trigger[1] for trigger in from_models}


def _rows(connection, table, rows):
    """Insert ``rows`` (dicts) into ``table`` as the database has it now."""
    connection.execute(sa.Table(table, sa.MetaData(), autoload_with=connection).insert(), rows)


def _stored(connection, query):
    return connection.execute(sa.text(query)).all()


def test_identities_fold_stored_addresses_and_key_organization_names(backend, make_database_url):
    app = create_app(app_config(make_database_url(backend)))
    with app.app_context():
        flask_migrate.upgrade(revision="0009_job_outbox")
        created_at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        person = dict(
            password_hash="x", display_name="P", locale="en", timezone="Asia/Shanghai", bio="",
            skills=[], is_admin=False, active=True, session_version=1, created_at=created_at,
        )  # fmt: skip
        organization = dict(
            kind="enterprise", ownership=None, center_id=1, description="", created_at=created_at
        )
        with db.engine.begin() as connection:
            _rows(connection, "users", [
                {**person, "id": 1, "email": "alice@example.com"},
                {**person, "id": 2, "email": "Ａlice@Example.com"},  # folds to alice's address
                {**person, "id": 3, "email": "ＢＯＢ@ｅxample.com"},
            ])  # fmt: skip
            _rows(connection, "centers", [
                {"id": 1, "code": "sd", "name_zh": "山东", "name_en": "Shandong",
                 "level": "province", "parent_id": None, "path": "/00000001/"},
            ])  # fmt: skip
            _rows(connection, "organizations", [
                {**organization, "id": 1, "name": "Haian Robotics", "credit_code": CODES[0]},
                {**organization, "id": 2, "name": "ＨＡＩＡＮ ROBOTICS", "credit_code": CODES[1]},
                {**organization, "id": 3, "name": "Zibo Ceramics", "credit_code": CODES[2]},
            ])  # fmt: skip

        flask_migrate.upgrade()
        with db.engine.begin() as connection:
            assert _stored(connection, "SELECT id, email FROM users ORDER BY id") == [
                (1, "alice@example.com"),
                (2, "Ａlice@Example.com"),  # left as it was: its folded form is taken
                (3, "bob@example.com"),
            ]
            assert _stored(connection, "SELECT id, name_key FROM organizations ORDER BY id") == [
                (1, name_key("Haian Robotics")),
                (2, None),  # looks like the older organization 1
                (3, name_key("Zibo Ceramics")),
            ]
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE organizations SET name_key = :key WHERE id = 2"),
                {"key": name_key("Haian Robotics")},
            )

        flask_migrate.downgrade(revision="0009_job_outbox")
        with db.engine.connect() as connection:
            columns = {
                column["name"] for column in sa.inspect(connection).get_columns("organizations")
            }
            assert "name_key" not in columns
            assert _stored(connection, "SELECT email FROM users WHERE id = 3") == [
                ("bob@example.com",)
            ]
        flask_migrate.upgrade()
        db.engine.dispose()
