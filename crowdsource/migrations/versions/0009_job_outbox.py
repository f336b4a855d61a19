"""job outbox: every background job is a row written in the transaction of the action that
causes it, handed to the queue after the commit and relayed when Redis was unavailable

Revision ID: 0009_job_outbox
Revises: 0008_mail_once
Create Date: 2026-12-02 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_job_outbox'
down_revision = '0008_mail_once'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'job_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_path', sa.String(length=200), nullable=False),
        sa.Column('args', sa.JSON(), nullable=False),
        sa.Column('queue', sa.String(length=20), nullable=False),
        sa.Column('retry_intervals', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('rq_job_id', sa.String(length=40), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_outbox')),
    )
    op.create_index(
        'ix_job_outbox_sent_at_claimed_until', 'job_outbox', ['sent_at', 'claimed_until']
    )


def downgrade():
    op.drop_index('ix_job_outbox_sent_at_claimed_until', table_name='job_outbox')
    op.drop_table('job_outbox')
