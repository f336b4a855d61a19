"""mail once: the Message-ID and the time of acceptance of each notification's and
invitation's e-mail, so that a retried mail job sends nothing new

Revision ID: 0008_mail_once
Revises: 0007_least_privilege
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_mail_once'
down_revision = '0007_least_privilege'
branch_labels = None
depends_on = None

TABLES = ('notifications', 'invitations')


def upgrade():
    # Plain ADD COLUMN of nullable columns (no batch table copy). Rows from before stay
    # unmarked: a job retried for one of them (e.g. by hand from the failed jobs) sends it.
    for table in TABLES:
        op.add_column(table, sa.Column('email_message_id', sa.String(length=255), nullable=True))
        op.add_column(table, sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    for table in reversed(TABLES):
        op.drop_column(table, 'emailed_at')
        op.drop_column(table, 'email_message_id')
