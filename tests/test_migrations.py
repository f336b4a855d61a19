"""The committed migrations build exactly the schema the models describe."""

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crowdsource import create_app
from crowdsource.db import db
from tests.conftest import app_config


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
