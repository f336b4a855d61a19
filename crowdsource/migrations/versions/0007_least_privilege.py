"""least privilege: TRUNCATE of the ledger and the audit trail refused by triggers

Row triggers do not fire on TRUNCATE, so the append-only rules of journal entries, postings
and audit events had a hole on PostgreSQL: a statement trigger closes it (for the owner too,
unless it disables the trigger first). The app's role gets no TRUNCATE right either: see
`flask db-grant`. SQLite has no TRUNCATE.

Revision ID: 0007_least_privilege
Revises: 0006_stats_indexes
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007_least_privilege'
down_revision = '0006_stats_indexes'
branch_labels = None
depends_on = None

# (table, trigger, the function of 0003_payments / 0005_disputes that refuses the statement)
NO_TRUNCATE = [
    ('postings', 'postings_no_truncate', 'ledger_append_only'),
    ('journal_entries', 'journal_entries_no_truncate', 'ledger_append_only'),
    ('audit_events', 'audit_events_no_truncate', 'audit_append_only'),
]


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, trigger, function in NO_TRUNCATE:
        op.execute(
            f'CREATE TRIGGER {trigger} BEFORE TRUNCATE ON {table} '
            f'FOR EACH STATEMENT EXECUTE FUNCTION {function}()'
        )


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, trigger, _ in reversed(NO_TRUNCATE):
        op.execute(f'DROP TRIGGER IF EXISTS {trigger} ON {table}')
