"""Bank transfers the enterprise can follow: each milestone's payment deadline, the reminders
before and when it passes, the enterprise's report "I have transferred" with the bank's receipt
(银行回单), and the manager's answer to it.

The deadline of a milestone's funding (:func:`deadline`):

- the first milestone: ``FUNDING_DAYS`` (default 7) days after the contract was signed;
- each next one: ``FUNDING_DAYS`` days after the milestone before it was settled (released,
  refunded or split), that is once its work is done; until then it has no deadline (it may
  still be paid early).

The sweep reminds the enterprise ``FUNDING_REMINDER_DAYS`` (default 2) days before the
deadline and tells it on the day it passes, each once (the milestone's ``funding_reminded_at``
and ``funding_overdue_at``, set under the milestone's lock), and not while a report waits.

A report moves no money: the manager's confirmation of the amount received does, as before
(:func:`confirm_transfer` is :func:`funding.confirm_bank_transfer` and then marks the report
confirmed). A manager may instead reject the report with a reason the enterprise sees; until
the funding is confirmed the enterprise may replace its report by a new one.
"""

import datetime as dt
import pathlib

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from crowdsource import audit, uploads
from crowdsource.accounts import authz
from crowdsource.contracts.deliveries import local_date
from crowdsource.contracts.models import Contract, ContractStatus, Milestone, MilestoneStatus, Side
from crowdsource.contracts.sides import side_of, tell
from crowdsource.db import LabelledEnum, db, lock_one, relock, set_labels, utcnow
from crowdsource.errors import Conflict, DomainError, NotAllowed, NotFound
from crowdsource.lifecycle import transition
from crowdsource.notifications.models import Kind
from crowdsource.notifications.services import Amount
from crowdsource.payments import escrow, funding
from crowdsource.payments.models import (
    TRANSFER_REPORT_MOVES,
    FundingStatus,
    TransferReport,
    TransferReportStatus,
)
from crowdsource.tasks import attachments
from crowdsource.tasks.attachments import problem

#: what a receipt may be: a scan or photo, or the bank's PDF
RECEIPT_TYPES = ("pdf", "png", "jpg", "jpeg")


class TransferStatus(LabelledEnum):
    """Where a milestone's payment stands, as both sides and the manager see it."""

    DUE = "due"
    REPORTED = "reported"
    CONFIRMED = "confirmed"
    OVERDUE = "overdue"


set_labels(
    TransferStatus,
    {
        TransferStatus.DUE: _l("payment due"),
        TransferStatus.REPORTED: _l("transfer reported"),
        TransferStatus.CONFIRMED: _l("payment confirmed"),
        TransferStatus.OVERDUE: _l("payment overdue"),
    },
)


# --- deadline and status ----------------------------------------------------------------------


def deadline(milestone):
    """When the milestone's funding is due (UTC), or None while it has no deadline yet (a later
    milestone whose previous one is not settled) — see the module's docstring."""
    days = dt.timedelta(days=current_app.config["FUNDING_DAYS"])
    contract = milestone.contract
    earlier = [m for m in contract.milestones if m.position < milestone.position]
    if not earlier:
        return contract.signed_at + days
    previous = max(earlier, key=lambda m: m.position)
    if previous.settled_at is None:
        return None
    return previous.settled_at + days


def open_report(funding_row):
    """The funding's report waiting for a manager, or None."""
    if funding_row is None:
        return None
    return db.session.scalar(
        sa.select(TransferReport).filter_by(
            funding_id=funding_row.id, status=TransferReportStatus.REPORTED
        )
    )


def latest_report(funding_row):
    """The funding's latest report (of any status), or None."""
    if funding_row is None:
        return None
    return db.session.scalar(
        sa.select(TransferReport)
        .filter_by(funding_id=funding_row.id)
        .order_by(TransferReport.id.desc())
        .limit(1)
    )


def status_of(milestone, now=None):
    """The milestone's TransferStatus, or None where none applies (not due yet, or the contract
    is no longer active and the milestone was never paid)."""
    if milestone.funded_at is not None:
        return TransferStatus.CONFIRMED
    if milestone.status != MilestoneStatus.PENDING:
        return None
    if open_report(funding.open_funding(milestone)) is not None:
        return TransferStatus.REPORTED
    if milestone.contract.status != ContractStatus.ACTIVE:
        return None
    due = deadline(milestone)
    if due is None:
        return None
    return TransferStatus.OVERDUE if (now or utcnow()) >= due else TransferStatus.DUE


def of_contract(contract, now=None):
    """Per milestone id: (status, deadline, latest report of its open funding) for the page."""
    now = now or utcnow()
    shown = {}
    for milestone in contract.milestones:
        opened = funding.open_funding(milestone) if milestone.funded_at is None else None
        shown[milestone.id] = (
            status_of(milestone, now),
            deadline(milestone),
            latest_report(opened),
        )
    return shown


# --- the enterprise's report --------------------------------------------------------------------


def report_refusal(actor, funding_row):
    """Why the actor may not report (or replace the report of) this transfer now; None: they
    may. Only the enterprise's members, for a bank transfer waiting for the money."""
    if side_of(actor, funding_row.milestone.contract) != Side.CLIENT:
        return NotAllowed()
    if funding_row.provider != "manual" or funding_row.status != FundingStatus.PENDING:
        return Conflict(_l("This payment is not waiting for a bank transfer."))
    return None


def _check_receipt(storage):
    if storage is None or not storage.filename:
        raise DomainError(_l("Attach the bank's receipt of the transfer."), field="receipt")
    extension = pathlib.PurePath(storage.filename).suffix.lower().lstrip(".")
    reason = problem(storage.filename, storage.stream)
    if extension not in RECEIPT_TYPES:
        reason = _l("Attach the receipt as a PDF or an image (PNG, JPEG).")
    if reason:
        raise DomainError(reason, field="receipt")


def report_transfer(actor, funding_row, amount_fen, transferred_on, receipt, now=None):
    """The enterprise reports the bank transfer of a funding: amount, date and receipt file.
    A report still waiting is replaced by the new one. Moves no money.

    Raises NotAllowed for anyone but the enterprise, Conflict when the funding no longer waits
    for a bank transfer, DomainError (naming its field) for a receipt that is missing or of a
    refused type, or a transfer date in the future."""
    now = now or utcnow()
    refusal = report_refusal(actor, funding_row)
    if refusal is not None and isinstance(refusal, NotAllowed):
        raise refusal
    _check_receipt(receipt)
    if transferred_on > local_date(now):
        raise DomainError(
            _l("The date of the transfer cannot be in the future."), field="transferred_on"
        )
    escrow.lock_milestone(funding_row.milestone_id)
    relock(funding_row)
    refusal = report_refusal(actor, funding_row)
    if refusal is not None:
        raise refusal
    waiting = open_report(funding_row)
    if waiting is not None:
        transition(waiting, TransferReportStatus.REPLACED, TRANSFER_REPORT_MOVES, actor=actor)
        db.session.flush()
    stored = attachments.store(receipt)
    report = TransferReport(
        funding_id=funding_row.id,
        amount_fen=amount_fen,
        transferred_on=transferred_on,
        receipt_name=stored.original_name,
        receipt_stored_name=stored.stored_name,
        receipt_content_type=stored.content_type,
        receipt_size=stored.size,
        reported_by_id=actor.id,
        reported_at=now,
    )
    db.session.add(report)
    db.session.flush()
    audit.record("transfer_report", report.id, "reported", actor, to_state=report.status)
    return report


# --- the manager's answer -----------------------------------------------------------------------


def may_decide(actor, funding_row):
    """Whether the actor manages the center of the funding's contract."""
    return authz.manages_center_of(actor, funding_row.milestone.contract)


def confirm_transfer(actor, funding_row, amount_fen, bank_reference, now=None):
    """The manager records the transfer as received — exactly
    :func:`funding.confirm_bank_transfer`, which moves the money — and a report waiting for it
    becomes confirmed. Raises what confirm_bank_transfer raises."""
    confirmed = funding.confirm_bank_transfer(actor, funding_row, amount_fen, bank_reference, now)
    waiting = open_report(confirmed)
    if waiting is not None:
        transition(waiting, TransferReportStatus.CONFIRMED, TRANSFER_REPORT_MOVES, actor=actor)
        waiting.decided_by_id = actor.id
        waiting.decided_at = now or utcnow()
        db.session.flush()
    return confirmed


def reject_report(actor, report, reason, now=None):
    """A manager rejects the enterprise's report (the money has not arrived, the receipt does
    not show the transfer…) with a reason the enterprise is told and sees on the payment page.
    Moves no money. Raises NotAllowed for anyone but a manager of the contract's center,
    DomainError for an empty reason, Conflict when the report no longer waits."""
    if not may_decide(actor, report.funding):
        raise NotAllowed()
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Say why the report is rejected."), field="reason")
    escrow.lock_milestone(report.funding.milestone_id)
    relock(report)
    if report.status != TransferReportStatus.REPORTED:
        raise Conflict(_l("This report has already been answered or replaced."))
    transition(
        report, TransferReportStatus.REJECTED, TRANSFER_REPORT_MOVES, actor=actor, reason=reason
    )
    report.decided_by_id = actor.id
    report.decided_at = now or utcnow()
    report.rejection_reason = reason
    milestone = report.funding.milestone
    tell(milestone.contract, Side.CLIENT, Kind.TRANSFER_REJECTED, milestone, reason=reason)
    db.session.flush()
    return report


def receipt_path(user, report):
    """The stored receipt, for the parties of its contract and the managers of its center
    (else NotFound)."""
    contract = report.funding.milestone.contract
    if side_of(user, contract) is None and not authz.manages_center_of(user, contract):
        raise NotFound()
    return uploads.folder() / report.receipt_stored_name


def queue(actor, now=None):
    """The manager's list of bank transfers waiting for money: (funding, status, deadline,
    latest report) — reported ones first, then overdue, then the rest, oldest first."""
    now = now or utcnow()
    order = {TransferStatus.REPORTED: 0, TransferStatus.OVERDUE: 1}
    rows = []
    for waiting in funding.transfers_to_confirm(actor):
        milestone = waiting.milestone
        rows.append(
            (waiting, status_of(milestone, now), deadline(milestone), latest_report(waiting))
        )
    rows.sort(key=lambda row: order.get(row[1], 2))  # stable: oldest first within each
    return rows


# --- the sweep ----------------------------------------------------------------------------------


def _lock_for_reminder(milestone_id):
    """The milestone, locked after its contract, or None if another transaction holds either
    (the next sweep finds it again)."""
    contract_id = lock_one(
        sa.select(Contract.id)
        .join(Milestone, Milestone.contract_id == Contract.id)
        .where(Milestone.id == milestone_id),
        of=Contract,
        skip_locked=True,
    )
    if contract_id is None:
        return None
    return lock_one(sa.select(Milestone).where(Milestone.id == milestone_id), skip_locked=True)


def sweep_due(now=None):
    """Remind the enterprise of each milestone whose transfer is due within
    ``FUNDING_REMINDER_DAYS``, and tell it when the deadline has passed; each once per
    milestone, even with several sweeps at once (rows taken with SKIP LOCKED and checked again
    under the lock). Returns {"funding_reminders": n, "funding_overdue": m}."""
    now = now or utcnow()
    ahead = dt.timedelta(days=current_app.config["FUNDING_REMINDER_DAYS"])
    candidates = (
        sa.select(Milestone.id)
        .join(Contract, Contract.id == Milestone.contract_id)
        .where(
            Milestone.status == MilestoneStatus.PENDING,
            Contract.status == ContractStatus.ACTIVE,
            Milestone.funding_overdue_at.is_(None),
        )
        .order_by(Milestone.id)
    )
    counts = {"funding_reminders": 0, "funding_overdue": 0}
    for milestone_id in db.session.scalars(candidates).all():
        milestone = _lock_for_reminder(milestone_id)
        if milestone is None or milestone.funding_overdue_at is not None:
            continue
        status = status_of(milestone, now)
        due = deadline(milestone)
        if status == TransferStatus.OVERDUE:
            milestone.funding_overdue_at = now
            milestone.funding_reminded_at = milestone.funding_reminded_at or now
            kind, counted = Kind.FUNDING_OVERDUE, "funding_overdue"
        elif (
            status == TransferStatus.DUE
            and milestone.funding_reminded_at is None
            and due - ahead <= now
        ):
            milestone.funding_reminded_at = now
            kind, counted = Kind.FUNDING_DUE_SOON, "funding_reminders"
        else:
            continue
        counts[counted] += 1
        tell(
            milestone.contract,
            Side.CLIENT,
            kind,
            milestone,
            date=due,
            amount=Amount(milestone.due_fen),
        )
    db.session.flush()
    return counts
