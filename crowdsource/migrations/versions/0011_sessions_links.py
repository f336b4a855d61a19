"""sessions kept on the server (logout ends them) and links mailed to an address (a new
password, a verified address); users get email_verified_at and lose session_version

Accounts that exist when this runs predate verification: their addresses count as verified
since the accounts were made (they have been in use), so nobody already trading is locked out.

Revision ID: 0011_sessions_links
Revises: 0010_identities
Create Date: 2026-12-03 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_sessions_links'
down_revision = '0010_identities'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('email_verified_at', sa.DateTime(timezone=True), nullable=True))
        batch.drop_column('session_version')
    op.execute('UPDATE users SET email_verified_at = created_at')
    op.create_table(
        'user_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('browser', sa.String(length=60), nullable=False),
        sa.Column('system', sa.String(length=60), nullable=False),
        sa.Column('ip', sa.String(length=45), nullable=True),
        sa.Column('remember', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_user_sessions_key_hash')),
    )
    op.create_index('ix_user_sessions_user_ended', 'user_sessions', ['user_id', 'ended_at'])
    op.create_table(
        'account_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column(
            'purpose',
            sa.Enum(
                'reset_password',
                'verify_email',
                name='purpose',
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('email_message_id', sa.String(length=255), nullable=True),
        sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_account_links_user_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_links')),
    )
    op.create_index('ix_account_links_user_purpose', 'account_links', ['user_id', 'purpose'])


def downgrade():
    op.drop_index('ix_account_links_user_purpose', table_name='account_links')
    op.drop_table('account_links')
    op.drop_index('ix_user_sessions_user_ended', table_name='user_sessions')
    op.drop_table('user_sessions')
    with op.batch_alter_table('users') as batch:
        batch.add_column(
            sa.Column('session_version', sa.Integer(), nullable=False, server_default='1')
        )
        batch.drop_column('email_verified_at')
