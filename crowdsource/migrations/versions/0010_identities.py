"""identities: e-mail addresses NFKC-normalised and case-folded, and a unique key of each
organization's name that names which look alike share

Revision ID: 0010_identities
Revises: 0009_job_outbox
Create Date: 2026-12-03 12:00:00.000000

"""
import hashlib
import logging
import unicodedata

from alembic import op
import icu
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_identities'
down_revision = '0009_job_outbox'
branch_labels = None
depends_on = None

log = logging.getLogger(f'alembic.{revision}')

users = sa.table('users', sa.column('id', sa.Integer), sa.column('email', sa.String))
organizations = sa.table(
    'organizations',
    sa.column('id', sa.Integer),
    sa.column('name', sa.String),
    sa.column('name_key', sa.String),
)

#: the longest e-mail address stored (users.email)
EMAIL_LENGTH = 254


# The rules of crowdsource.accounts.identity as they are at this revision (a migration does not
# change when the application's code does).

def _fold(text):
    return unicodedata.normalize('NFKC', unicodedata.normalize('NFKC', text or '').casefold())


def _visible(character):
    return not (
        character.isspace()
        or unicodedata.category(character) == 'Cf'
        or '\ufe00' <= character <= '\ufe0f'
        or '\U000e0100' <= character <= '\U000e01ef'
    )


def _name_key(name, checker):
    name = ' '.join(unicodedata.normalize('NFKC', name or '').split())
    visible = ''.join(filter(_visible, _fold(name)))
    return hashlib.sha256(_fold(checker.getSkeleton(0, visible)).encode()).hexdigest()


def _fill_name_keys(connection):
    """Each organization gets the key of its name, unless an older one (a lower id) has that
    key already: such a look-alike keeps no key until it is renamed."""
    checker = icu.SpoofChecker()
    taken = set()
    rows = connection.execute(
        sa.select(organizations.c.id, organizations.c.name).order_by(organizations.c.id)
    )
    for id_, name in rows.all():
        key = _name_key(name, checker)
        if key in taken:
            log.warning('organization %s: its name looks like an older one\'s; no key', id_)
            continue
        taken.add(key)
        connection.execute(
            organizations.update().where(organizations.c.id == id_).values(name_key=key)
        )


def _normalise_emails(connection):
    """Store each address NFKC-normalised and case-folded, unless another account (the older,
    when two fold alike) already has that form: such an account keeps its address as it was."""
    rows = connection.execute(sa.select(users.c.id, users.c.email).order_by(users.c.id)).all()
    taken = {email for _, email in rows}
    for id_, email in rows:
        normal = _fold(email).strip()
        if normal == email:
            continue
        if normal in taken or len(normal) > EMAIL_LENGTH:
            log.warning('user %s: e-mail address left as it was (its normal form is taken)', id_)
            continue
        taken.add(normal)
        connection.execute(users.update().where(users.c.id == id_).values(email=normal))


def upgrade():
    # A plain ADD COLUMN of a nullable column: no batch table copy of organizations, which
    # SQLite could not drop while other tables' rows refer to it.
    op.add_column('organizations', sa.Column('name_key', sa.String(length=64), nullable=True))
    connection = op.get_bind()
    _fill_name_keys(connection)
    _normalise_emails(connection)
    op.create_index(
        op.f('ix_organizations_name_key'), 'organizations', ['name_key'], unique=True
    )


def downgrade():
    # The e-mail addresses stay normalised: they are valid addresses of the same accounts.
    op.drop_index(op.f('ix_organizations_name_key'), table_name='organizations')
    op.drop_column('organizations', 'name_key')
