"""the operator console: an account's suspension (when, why) and a task hidden by the
platform (when, why, and whether its poster's suspension hid it)

Revision ID: 0015_console
Revises: 0014_two_factor
Create Date: 2026-12-03 19:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_console'
down_revision = '0014_two_factor'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no table copy on SQLite: other tables refer to these)
    op.add_column('users', sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('suspension_reason', sa.Text(), nullable=True))
    op.add_column('tasks', sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('tasks', sa.Column('hidden_reason', sa.Text(), nullable=True))
    op.add_column(
        'tasks',
        sa.Column(
            'hidden_by_suspension', sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )


def downgrade():
    with op.batch_alter_table('tasks') as batch:
        batch.drop_column('hidden_by_suspension')
        batch.drop_column('hidden_reason')
        batch.drop_column('hidden_at')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('suspension_reason')
        batch.drop_column('suspended_at')
