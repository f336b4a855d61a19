"""Least privilege in PostgreSQL: the rights of the role the app connects as.

Two roles share a database: the owner, which runs the migrations and so owns every table,
sequence and trigger, and the app's role, which serves requests and runs the jobs and the
commands of daily work. The app's role may read and write rows (``SELECT, INSERT, UPDATE,
DELETE``) and draw ids from sequences (``USAGE, SELECT``), and nothing else: not ALTER or DROP
(only an owner may), not disable triggers (that is ALTER too), not TRUNCATE, not create
triggers or tables. ``alembic_version`` it may only read. The triggers still refuse what rows
may not undergo (an UPDATE of a posting, …) whoever asks.

:func:`grant_app_role` is run by the owner, after ``flask db upgrade`` (``flask db-grant``);
default privileges extend the same rights to the tables and sequences that the owner creates
later, so an upgrade that adds a table needs no new grant (running it again does no harm).
"""

import sqlalchemy as sa

#: what the app's role may do with every table, and with every sequence
TABLE_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"
SEQUENCE_RIGHTS = "USAGE, SELECT"
#: Alembic's own table: the app reads the revision, only the owner's migrations write it
READ_ONLY_TABLES = ("alembic_version",)


class UnsafeRole(ValueError):
    """The role named cannot be the app's role: it does not exist, or would keep more rights."""


def _check_role(connection, role):
    """Refuse a role that is missing, a superuser, or that holds the owner's rights anyway
    (the owner itself, or a member of it): granting it less would change nothing."""
    found = connection.execute(
        sa.text(
            "SELECT rolsuper, pg_has_role(:role, current_user, 'MEMBER') "
            "FROM pg_roles WHERE rolname = :role"
        ),
        {"role": role},
    ).first()
    if found is None:
        raise UnsafeRole(f"There is no role {role!r}: create it first (createuser).")
    superuser, owner = found
    if superuser:
        raise UnsafeRole(f"{role!r} is a superuser: it would bypass every restriction.")
    if owner:
        raise UnsafeRole(
            f"{role!r} is the owner ({connection.scalar(sa.text('SELECT current_user'))}) or a "
            "member of it: it would keep the right to alter, disable triggers and truncate."
        )


def grant_app_role(connection, role):
    """Give ``role`` exactly the app's rights on the tables and sequences of the current schema,
    now and (default privileges) for those the current user creates later.

    Run as the owner on PostgreSQL. Any other right the role held on them is revoked first, so
    running it again leaves the same rights. Changes privileges only, never rows; raises
    :class:`UnsafeRole` for a role that must not be the app's (see :func:`_check_role`).
    Returns the schema's name.
    """
    _check_role(connection, role)
    schema = connection.scalar(sa.text("SELECT current_schema()"))
    quote = connection.dialect.identifier_preparer.quote
    grantee, space = quote(role), quote(schema)
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {space} FROM {grantee}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {space} FROM {grantee}",
        f"GRANT USAGE ON SCHEMA {space} TO {grantee}",
        f"GRANT {TABLE_RIGHTS} ON ALL TABLES IN SCHEMA {space} TO {grantee}",
        f"GRANT {SEQUENCE_RIGHTS} ON ALL SEQUENCES IN SCHEMA {space} TO {grantee}",
    ]
    for table in READ_ONLY_TABLES:
        if connection.scalar(sa.text("SELECT to_regclass(:name)"), {"name": f"{schema}.{table}"}):
            statements.append(f"REVOKE INSERT, UPDATE, DELETE ON {space}.{table} FROM {grantee}")
    default = f"ALTER DEFAULT PRIVILEGES IN SCHEMA {space}"
    statements += [
        f"{default} REVOKE ALL ON TABLES FROM {grantee}",
        f"{default} GRANT {TABLE_RIGHTS} ON TABLES TO {grantee}",
        f"{default} REVOKE ALL ON SEQUENCES FROM {grantee}",
        f"{default} GRANT {SEQUENCE_RIGHTS} ON SEQUENCES TO {grantee}",
    ]
    for statement in statements:
        connection.execute(sa.text(statement))
    return schema
