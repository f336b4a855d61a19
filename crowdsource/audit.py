"""The audit trail: an append-only record of who changed what, when, from which state to which.

Every state-machine move made through :func:`crowdsource.lifecycle.transition` is recorded,
and services record other steps (a payout requested, a transfer confirmed) with :func:`record`.
The table is append-only in the database too: triggers refuse any UPDATE or DELETE, and on
PostgreSQL any TRUNCATE (created with the table, and by the migrations that added them, which
keep their own copy of the text).
"""

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm

from crowdsource.db import UTCDateTime, db, utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_subject", "subject", "subject_id", "id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    #: what kind of object: "milestone", "contract", "task", "bid", "payout", …
    subject: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    subject_id: orm.Mapped[int]
    #: what happened: "status" for a state change, or a named step ("transfer_confirmed")
    action: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    from_state: orm.Mapped[str | None] = orm.mapped_column(sa.String(40))
    to_state: orm.Mapped[str | None] = orm.mapped_column(sa.String(40))
    #: who did it; None for the system (the sweep, a provider's webhook)
    actor_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    #: a reason given, or details of the step
    reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    actor = orm.relationship("User")


def record(subject, subject_id, action, actor=None, from_state=None, to_state=None, reason=None):
    """Add one event to the trail (in the caller's transaction)."""
    event = AuditEvent(
        subject=subject,
        subject_id=subject_id,
        action=action,
        from_state=str(from_state) if from_state is not None else None,
        to_state=str(to_state) if to_state is not None else None,
        actor_id=getattr(actor, "id", None),
        reason=reason,
    )
    db.session.add(event)
    return event


def trail(subject, subject_id):
    """The events of one object, oldest first."""
    query = sa.select(AuditEvent).filter_by(subject=subject, subject_id=subject_id)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def events_of(subjects):
    """The events of several objects ((subject, id) pairs), oldest first."""
    if not subjects:
        return []
    condition = sa.or_(
        *(
            sa.and_(AuditEvent.subject == subject, AuditEvent.subject_id == subject_id)
            for subject, subject_id in subjects
        )
    )
    query = sa.select(AuditEvent).where(condition).options(sa.orm.joinedload(AuditEvent.actor))
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


# --- append-only in the database ---------------------------------------------------------

POSTGRESQL = [
    """
    CREATE FUNCTION audit_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP
            USING ERRCODE = 'restrict_violation';
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_append_only()
    """,
    # Row triggers do not fire on TRUNCATE: a statement trigger refuses it, even to the owner.
    """
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()
    """,
]

#: (table, trigger) refusing TRUNCATE: disabled and enabled again by the tests' cleanup only
POSTGRESQL_NO_TRUNCATE = [("audit_events", "audit_events_no_truncate")]

#: (name, statement): dropped and re-created by the tests' cleanup between tests
SQLITE_APPEND_ONLY = [
    (
        f"audit_events_append_only_{operation.lower()}",
        f"""
        CREATE TRIGGER audit_events_append_only_{operation.lower()}
        BEFORE {operation} ON audit_events
        BEGIN
            SELECT RAISE(ABORT, 'the audit trail is append-only: {operation} refused');
        END
        """,
    )
    for operation in ("UPDATE", "DELETE")
]


def _install(target, connection, **kwargs):
    if connection.dialect.name == "postgresql":
        statements = POSTGRESQL
    elif connection.dialect.name == "sqlite":
        statements = [statement for _, statement in SQLITE_APPEND_ONLY]
    else:
        return
    for statement in statements:
        connection.execute(sa.text(statement))


sa.event.listen(AuditEvent.__table__, "after_create", _install)
