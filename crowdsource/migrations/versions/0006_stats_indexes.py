"""statistics: monthly summary tables, and indexes on the time columns they are computed by

Revision ID: 0006_stats_indexes
Revises: 0005_disputes
Create Date: 2026-11-27 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_stats_indexes'
down_revision = '0005_disputes'
branch_labels = None
depends_on = None

CONTRACT_TYPES = ('development', 'transfer', 'consulting', 'service')
INDEXES = [
    ('ix_contracts_signed_at', 'contracts', 'signed_at'),
    ('ix_tasks_published_at', 'tasks', 'published_at'),
    ('ix_bids_created_at', 'bids', 'created_at'),
    ('ix_journal_entries_created_at', 'journal_entries', 'created_at'),
]


def upgrade():
    op.create_table('stats_months',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_stats_months'))
    )
    op.create_table('stats_cells',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('contract_type', sa.Enum(*CONTRACT_TYPES, name='contract_type', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('center_id', sa.Integer(), nullable=False),
    sa.Column('contracts', sa.Integer(), nullable=False),
    sa.Column('value_fen', sa.BigInteger(), nullable=False),
    sa.Column('award_seconds', sa.BigInteger(), nullable=False),
    sa.Column('tasks', sa.Integer(), nullable=False),
    sa.Column('bids', sa.Integer(), nullable=False),
    sa.Column('funded_fen', sa.BigInteger(), nullable=False),
    sa.Column('released_fen', sa.BigInteger(), nullable=False),
    sa.Column('refunded_fen', sa.BigInteger(), nullable=False),
    sa.Column('commission_fen', sa.BigInteger(), nullable=False),
    sa.Column('brokerage_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['center_id'], ['centers.id'], name=op.f('fk_stats_cells_center_id_centers')),
    sa.PrimaryKeyConstraint('month', 'contract_type', 'center_id', name=op.f('pk_stats_cells'))
    )
    # plain CREATE INDEX (no batch table copy: the ledger's triggers stay as they are)
    for name, table, column in INDEXES:
        op.create_index(name, table, [column], unique=False)


def downgrade():
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table('stats_cells')
    op.drop_table('stats_months')
