"""Database rules of the ledger that constraints alone cannot state, as triggers.

Both databases: a posting, once inserted, adds its amount to its account's cached balance (so
the balance CHECK refuses any posting that would drive a non-clearing account negative, however
the posting got there), and entries and postings can be neither updated nor deleted.
PostgreSQL also refuses TRUNCATE of either table (row triggers do not fire on TRUNCATE, so a
statement trigger does; the app's role has no TRUNCATE right either, see
:mod:`crowdsource.db_roles`, and this stops the owner too unless it first disables the trigger),
and refuses, at commit, an entry whose postings do not sum to zero per currency or
that has fewer than two postings (deferred constraint triggers).

The statements are created with the tables (``db.create_all``) and by the migration that adds
the ledger; the migration keeps its own copy of the text.
"""

import sqlalchemy as sa

from crowdsource.payments.models import Posting

POSTGRESQL = [
    """
    CREATE FUNCTION ledger_apply_posting() RETURNS trigger AS $$
    BEGIN
        UPDATE ledger_accounts SET balance = balance + NEW.amount WHERE id = NEW.account_id;
        RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER postings_apply AFTER INSERT ON postings
    FOR EACH ROW EXECUTE FUNCTION ledger_apply_posting()
    """,
    """
    CREATE FUNCTION ledger_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'ledger rows are append-only: % of % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only()
    """,
    """
    CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only()
    """,
    """
    CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()
    """,
    """
    CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()
    """,
    """
    CREATE FUNCTION ledger_entry_balanced() RETURNS trigger AS $$
    DECLARE
        -- the column holding the entry's id is the trigger's argument: entry_id or id
        entry bigint := (to_jsonb(NEW) ->> TG_ARGV[0])::bigint;
    BEGIN
        IF (SELECT count(*) FROM postings WHERE entry_id = entry) < 2 THEN
            RAISE EXCEPTION 'journal entry % has fewer than two postings', entry
                USING ERRCODE = 'check_violation';
        END IF;
        IF EXISTS (
            SELECT 1 FROM postings WHERE entry_id = entry
            GROUP BY currency HAVING sum(amount) <> 0
        ) THEN
            RAISE EXCEPTION 'journal entry % does not balance', entry
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced('entry_id')
    """,
    """
    CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced('id')
    """,
]

#: (table, trigger) refusing TRUNCATE: disabled and enabled again by the tests' cleanup only
POSTGRESQL_NO_TRUNCATE = [
    ("postings", "postings_no_truncate"),
    ("journal_entries", "journal_entries_no_truncate"),
]

SQLITE_APPLY = [
    """
    CREATE TRIGGER postings_apply AFTER INSERT ON postings
    BEGIN
        UPDATE ledger_accounts SET balance = balance + NEW.amount WHERE id = NEW.account_id;
    END
    """,
]

#: (name, statement): dropped and re-created by the tests' cleanup between tests
SQLITE_APPEND_ONLY = [
    (
        f"{table}_append_only_{operation.lower()}",
        f"""
        CREATE TRIGGER {table}_append_only_{operation.lower()} BEFORE {operation} ON {table}
        BEGIN
            SELECT RAISE(ABORT, 'ledger rows are append-only: {operation} of {table} refused');
        END
        """,
    )
    for table in ("postings", "journal_entries")
    for operation in ("UPDATE", "DELETE")
]


def _install(target, connection, **kwargs):
    if connection.dialect.name == "postgresql":
        statements = POSTGRESQL
    elif connection.dialect.name == "sqlite":
        statements = SQLITE_APPLY + [statement for _, statement in SQLITE_APPEND_ONLY]
    else:
        return
    for statement in statements:
        connection.execute(sa.text(statement))


# Postings is created after journal entries (it references them): install the triggers then.
sa.event.listen(Posting.__table__, "after_create", _install)
