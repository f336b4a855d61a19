"""The committed migrations build exactly the schema the models describe, triggers included."""

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crowdsource import create_app
from crowdsource.db import db
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
