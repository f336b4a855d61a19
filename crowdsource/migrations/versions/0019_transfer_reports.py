"""bank transfers the enterprise can follow: the reminders of a milestone's payment deadline
(sent once each), the enterprise's reports of its transfers with the bank's receipt, and the
notification kinds that go with them

Revision ID: 0019_transfer_reports
Revises: 0018_profiles
Create Date: 2026-12-04 03:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_transfer_reports'
down_revision = '0018_profiles'
branch_labels = None
depends_on = None

KINDS_OLD = (
    'question_asked', 'question_answered', 'bid_submitted', 'bid_shortlisted', 'bid_rejected',
    'bid_awarded', 'bidding_closed', 'task_expired', 'task_cancelled', 'milestone_funded',
    'delivery_submitted', 'changes_requested', 'milestone_released', 'cancellation_requested',
    'contract_cancelled', 'payout_sent', 'review_ending', 'contract_message', 'rating_received',
    'dispute_opened', 'dispute_responded', 'dispute_to_review', 'dispute_taken',
    'dispute_info_requested', 'dispute_message', 'dispute_ruled', 'dispute_appealed',
    'dispute_final', 'dispute_deadline', 'offer_received', 'offer_accepted', 'offer_declined',
    'offer_withdrawn', 'offer_expired', 'offer_ending', 'bid_message', 'saved_search_matches',
    'portfolio_proposed',
)
KINDS_NEW = KINDS_OLD + ('funding_due_soon', 'funding_overdue', 'transfer_rejected')


def _in(column, values):
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _kinds(values):
    # New notification kinds: the CHECK constraint of the enum column is replaced
    # (autogenerate cannot see a change of allowed values).
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notifications_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notifications_kind'), _in('kind', values))


def upgrade():
    # Plain ADD COLUMN (no table copy on SQLite: other tables refer to milestones)
    op.add_column(
        'milestones', sa.Column('funding_reminded_at', sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        'milestones', sa.Column('funding_overdue_at', sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table('transfer_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('funding_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('transferred_on', sa.Date(), nullable=False),
    sa.Column('receipt_name', sa.String(length=255), nullable=False),
    sa.Column('receipt_stored_name', sa.String(length=64), nullable=False),
    sa.Column('receipt_content_type', sa.String(length=100), nullable=False),
    sa.Column('receipt_size', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('reported', 'replaced', 'rejected', 'confirmed', name='status', native_enum=False, create_constraint=True, length=9), nullable=False),
    sa.Column('reported_by_id', sa.Integer(), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_transfer_reports_amount_positive')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_transfer_reports_decided_by_id_users')),
    sa.ForeignKeyConstraint(['funding_id'], ['fundings.id'], name=op.f('fk_transfer_reports_funding_id_fundings')),
    sa.ForeignKeyConstraint(['reported_by_id'], ['users.id'], name=op.f('fk_transfer_reports_reported_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_reports')),
    sa.UniqueConstraint('receipt_stored_name', name=op.f('uq_transfer_reports_receipt_stored_name'))
    )
    with op.batch_alter_table('transfer_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_reports_funding_id'), ['funding_id'], unique=False)
        batch_op.create_index('uq_transfer_reports_open_funding', ['funding_id'], unique=True, sqlite_where=sa.text("status = 'reported'"), postgresql_where=sa.text("status = 'reported'"))
    _kinds(KINDS_NEW)


def downgrade():
    op.execute(f"DELETE FROM notifications WHERE NOT ({_in('kind', KINDS_OLD)})")
    _kinds(KINDS_OLD)
    with op.batch_alter_table('transfer_reports', schema=None) as batch_op:
        batch_op.drop_index('uq_transfer_reports_open_funding', sqlite_where=sa.text("status = 'reported'"), postgresql_where=sa.text("status = 'reported'"))
        batch_op.drop_index(batch_op.f('ix_transfer_reports_funding_id'))
    op.drop_table('transfer_reports')
    with op.batch_alter_table('milestones') as batch:
        batch.drop_column('funding_overdue_at')
        batch.drop_column('funding_reminded_at')
