"""saved searches of the task list and the digests of new matching tasks mailed for them

Revision ID: 0017_saved_searches
Revises: 0016_offers
Create Date: 2026-12-05 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_saved_searches'
down_revision = '0016_offers'
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
    'offer_withdrawn', 'offer_expired', 'offer_ending', 'bid_message',
)
KINDS_NEW = KINDS_OLD + ('saved_search_matches',)


def _in(column, values):
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _kinds(values):
    # New notification kinds: the CHECK constraint of the enum column is replaced
    # (autogenerate cannot see a change of allowed values).
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notifications_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notifications_kind'), _in('kind', values))


def upgrade():
    op.create_table(
        'saved_searches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('arguments', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('checked_through', sa.DateTime(timezone=True), nullable=False),
        sa.Column('alerts', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_saved_searches_user_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_searches')),
    )
    op.create_index(op.f('ix_saved_searches_user_id'), 'saved_searches', ['user_id'])
    op.create_table(
        'search_digests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('saved_search_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('until', sa.DateTime(timezone=True), nullable=False),
        sa.Column('task_ids', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('email_message_id', sa.String(length=255), nullable=True),
        sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['saved_search_id'],
            ['saved_searches.id'],
            name=op.f('fk_search_digests_saved_search_id_saved_searches'),
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_search_digests_user_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_digests')),
        sa.UniqueConstraint(
            'saved_search_id', 'since', name=op.f('uq_search_digests_saved_search_id_since')
        ),
    )
    _kinds(KINDS_NEW)


def downgrade():
    op.execute(f"DELETE FROM notifications WHERE NOT ({_in('kind', KINDS_OLD)})")
    _kinds(KINDS_OLD)
    op.drop_table('search_digests')
    op.drop_index(op.f('ix_saved_searches_user_id'), table_name='saved_searches')
    op.drop_table('saved_searches')
