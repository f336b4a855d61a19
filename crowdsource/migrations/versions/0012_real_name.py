"""real-name verification (实名认证): requests of people (legal name, a keyed hash and the
last four characters of the resident ID number, never the number) and of organizations (credit
code, business licence), reviewed by the managers of a center; users and organizations get
real_name_verified_at

People and organizations that exist when this runs are not verified: nobody has checked an ID
card or a licence of theirs, and the badge says that someone has. Nothing in flight stops: they
go on bidding, delivering and being released into their payables; publishing a task and a
payout wait until they have applied and been approved. An operator who needs a transition
period sets REQUIRE_REAL_NAME_VERIFICATION=0 until then.

Revision ID: 0012_real_name
Revises: 0011_sessions_links
Create Date: 2026-12-04 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_real_name'
down_revision = '0011_sessions_links'
branch_labels = None
depends_on = None

#: one live (pending or approved) request per person, per organization and per ID number
LIVE = "status IN ('pending', 'approved')"
LIVE_INDEXES = [
    ('uq_verifications_person_live', ['applicant_id'], f"kind = 'person' AND {LIVE}"),
    ('uq_verifications_organization_live', ['organization_id'], LIVE),
    ('uq_verifications_id_number_live', ['id_number_hash'], LIVE),
]


def upgrade():
    op.create_table(
        'verifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column(
            'kind',
            sa.Enum(
                'person', 'organization', name='kind', native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column('applicant_id', sa.Integer(), nullable=True),
        sa.Column('organization_id', sa.Integer(), nullable=True),
        sa.Column('center_id', sa.Integer(), nullable=True),
        sa.Column(
            'status',
            sa.Enum(
                'pending',
                'approved',
                'refused',
                'revoked',
                name='status',
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column('legal_name', sa.String(length=80), nullable=True),
        sa.Column('id_number_hash', sa.String(length=64), nullable=True),
        sa.Column('id_number_last_four', sa.String(length=4), nullable=True),
        sa.Column('credit_code', sa.String(length=18), nullable=True),
        sa.Column('licence_stored_name', sa.String(length=64), nullable=True),
        sa.Column('licence_name', sa.String(length=255), nullable=True),
        sa.Column('licence_content_type', sa.String(length=100), nullable=True),
        sa.Column('licence_size', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision_reason', sa.Text(), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revocation_reason', sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(kind = 'organization') = (organization_id IS NOT NULL)",
            name=op.f('ck_verifications_subject'),
        ),
        sa.CheckConstraint(
            "kind = 'organization' OR applicant_id IS NOT NULL",
            name=op.f('ck_verifications_person'),
        ),
        sa.ForeignKeyConstraint(
            ['applicant_id'], ['users.id'], name=op.f('fk_verifications_applicant_id_users')
        ),
        sa.ForeignKeyConstraint(
            ['center_id'], ['centers.id'], name=op.f('fk_verifications_center_id_centers')
        ),
        sa.ForeignKeyConstraint(
            ['decided_by_id'], ['users.id'], name=op.f('fk_verifications_decided_by_id_users')
        ),
        sa.ForeignKeyConstraint(
            ['organization_id'],
            ['organizations.id'],
            name=op.f('fk_verifications_organization_id_organizations'),
        ),
        sa.ForeignKeyConstraint(
            ['revoked_by_id'], ['users.id'], name=op.f('fk_verifications_revoked_by_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_verifications')),
    )
    op.create_index('ix_verifications_applicant_id', 'verifications', ['applicant_id'])
    op.create_index('ix_verifications_status_center', 'verifications', ['status', 'center_id'])
    for name, columns, where in LIVE_INDEXES:
        op.create_index(
            name,
            'verifications',
            columns,
            unique=True,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )
    for table in ('users', 'organizations'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column('real_name_verified_at', sa.DateTime(timezone=True), nullable=True)
            )


def downgrade():
    for table in ('organizations', 'users'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('real_name_verified_at')
    for name, _columns, where in reversed(LIVE_INDEXES):
        op.drop_index(
            name,
            table_name='verifications',
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )
    op.drop_index('ix_verifications_status_center', table_name='verifications')
    op.drop_index('ix_verifications_applicant_id', table_name='verifications')
    op.drop_table('verifications')
