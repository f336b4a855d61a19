"""award as an offer both sides sign: offers (the contract document and its SHA-256, the rates
at the offer, its deadline and answer), signatures (who, when, from which address, which
hash), the contract's offer; bids may be offered, declined or lapsed; the private conversation
about a bid (messages, files, who read up to when); new notification kinds

Revision ID: 0016_offers
Revises: 0015_console
Create Date: 2026-12-04 04:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_offers'
down_revision = '0015_console'
branch_labels = None
depends_on = None

BID_STATES_OLD = ('submitted', 'shortlisted', 'accepted', 'rejected', 'withdrawn')
BID_STATES_NEW = BID_STATES_OLD + ('offered', 'declined', 'lapsed')

KINDS_OLD = (
    'question_asked', 'question_answered', 'bid_submitted', 'bid_shortlisted', 'bid_rejected',
    'bid_awarded', 'bidding_closed', 'task_expired', 'task_cancelled', 'milestone_funded',
    'delivery_submitted', 'changes_requested', 'milestone_released', 'cancellation_requested',
    'contract_cancelled', 'payout_sent', 'review_ending', 'contract_message', 'rating_received',
    'dispute_opened', 'dispute_responded', 'dispute_to_review', 'dispute_taken',
    'dispute_info_requested', 'dispute_message', 'dispute_ruled', 'dispute_appealed',
    'dispute_final', 'dispute_deadline',
)
KINDS_NEW = KINDS_OLD + (
    'offer_received', 'offer_accepted', 'offer_declined', 'offer_withdrawn', 'offer_expired',
    'offer_ending', 'bid_message',
)


def _in(column, values):
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _check(table, column, values):
    # New allowed values: the CHECK constraint of the enum column is replaced (autogenerate
    # cannot see a change of allowed values).
    name = f'ck_{table}_{column}'
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(name), type_='check')
        batch_op.create_check_constraint(op.f(name), _in(column, values))


def upgrade():
    op.create_table('offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('open', 'accepted', 'declined', 'expired', 'withdrawn', name='status', native_enum=False, create_constraint=True, length=9), nullable=False),
    sa.Column('offered_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('commission_bps', sa.Integer(), nullable=False),
    sa.Column('client_fee_bps', sa.Integer(), nullable=False),
    sa.Column('center_share_bps', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['bid_id'], ['bids.id'], name=op.f('fk_offers_bid_id_bids')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_offers_decided_by_id_users')),
    sa.ForeignKeyConstraint(['offered_by_id'], ['users.id'], name=op.f('fk_offers_offered_by_id_users')),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_offers_task_id_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offers'))
    )
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offers_bid_id'), ['bid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offers_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_offers_task_id'), ['task_id'], unique=False)
        batch_op.create_index('uq_offers_open_task', ['task_id'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.Enum('client', 'solver', name='side', native_enum=False, create_constraint=True, length=6), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=False),
    sa.Column('user_agent', sa.String(length=255), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['offer_id'], ['offers.id'], name=op.f('fk_signatures_offer_id_offers')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_signatures_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signatures')),
    sa.UniqueConstraint('offer_id', 'side', name=op.f('uq_signatures_offer_id_side'))
    )
    # Plain ADD COLUMN (no table copy on SQLite: other tables refer to contracts)
    # No table copy of contracts on SQLite (other tables refer to it): its ADD COLUMN takes
    # the reference inline, which Alembic's add_column cannot write there.
    if op.get_context().dialect.name == 'sqlite':
        op.execute('ALTER TABLE contracts ADD COLUMN offer_id INTEGER REFERENCES offers (id)')
    else:
        op.add_column('contracts', sa.Column('offer_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_contracts_offer_id_offers'), 'contracts', 'offers', ['offer_id'], ['id'])
    op.create_index(op.f('uq_contracts_offer_id'), 'contracts', ['offer_id'], unique=True)
    op.create_table('bid_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_bid_messages_author_id_users')),
    sa.ForeignKeyConstraint(['bid_id'], ['bids.id'], name=op.f('fk_bid_messages_bid_id_bids')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bid_messages'))
    )
    op.create_index(op.f('ix_bid_messages_bid_id'), 'bid_messages', ['bid_id'], unique=False)
    op.create_table('bid_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['bid_messages.id'], name=op.f('fk_bid_files_message_id_bid_messages')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_bid_files_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bid_files')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_bid_files_stored_name'))
    )
    op.create_index(op.f('ix_bid_files_message_id'), 'bid_files', ['message_id'], unique=False)
    op.create_table('bid_thread_reads',
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bid_id'], ['bids.id'], name=op.f('fk_bid_thread_reads_bid_id_bids')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_bid_thread_reads_user_id_users')),
    sa.PrimaryKeyConstraint('bid_id', 'user_id', name=op.f('pk_bid_thread_reads'))
    )
    _check('bids', 'status', BID_STATES_NEW)
    _check('notifications', 'kind', KINDS_NEW)


def downgrade():
    op.execute(f"DELETE FROM notifications WHERE NOT ({_in('kind', KINDS_OLD)})")
    _check('notifications', 'kind', KINDS_OLD)
    op.execute(f"UPDATE bids SET status = 'rejected' WHERE NOT ({_in('status', BID_STATES_OLD)})")
    _check('bids', 'status', BID_STATES_OLD)
    op.drop_table('bid_thread_reads')
    op.drop_index(op.f('ix_bid_files_message_id'), table_name='bid_files')
    op.drop_table('bid_files')
    op.drop_index(op.f('ix_bid_messages_bid_id'), table_name='bid_messages')
    op.drop_table('bid_messages')
    op.drop_index(op.f('uq_contracts_offer_id'), table_name='contracts')
    if op.get_context().dialect.name == 'sqlite':
        op.execute('ALTER TABLE contracts DROP COLUMN offer_id')
    else:
        op.drop_constraint(op.f('fk_contracts_offer_id_offers'), 'contracts', type_='foreignkey')
        op.drop_column('contracts', 'offer_id')
    op.drop_table('signatures')
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_index('uq_offers_open_task', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index(batch_op.f('ix_offers_task_id'))
        batch_op.drop_index(batch_op.f('ix_offers_expires_at'))
        batch_op.drop_index(batch_op.f('ix_offers_bid_id'))
    op.drop_table('offers')
