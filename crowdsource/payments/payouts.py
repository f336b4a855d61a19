"""Payouts: a payee (or the agency, or the enterprise for refunds) asks to be paid the payable
balance of a contract; a manager of the contract's center records the bank transfer sent, and
only then does the ledger move the money out."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from crowdsource import audit
from crowdsource.accounts import authz, verification
from crowdsource.contracts.models import Contract, Side
from crowdsource.contracts.sides import side_of
from crowdsource.db import db, relock, utcnow
from crowdsource.errors import AlreadyDone, Conflict, DomainError, NotAllowed
from crowdsource.lifecycle import transition
from crowdsource.money import format_money
from crowdsource.notifications.models import Kind
from crowdsource.notifications.services import Amount, notify
from crowdsource.payments import chart, ledger, payee_details, providers, stripe_api
from crowdsource.payments.models import PAYOUT_MOVES, Payout, PayoutStatus


def may_draw(user, contract, role):
    """May the user ask for the payout of the contract's ``role`` payable?"""
    if not getattr(user, "is_authenticated", False):
        return False
    if role == "payee":
        if contract.payee_user_id is not None:
            return user.id == contract.payee_user_id
        return authz.can_act_for(user, contract.payee_organization)
    if role == "agency":
        return contract.agency is not None and authz.can_act_for(user, contract.agency)
    if role == "client":
        return side_of(user, contract) == Side.CLIENT
    return False


def payee_of(contract, role):
    """Whom the payable of ``role`` is paid to: the payee (a person or an organization), the
    agency, or the enterprise (refunds)."""
    if role == "payee":
        return contract.payee_organization or contract.payee_user
    if role == "agency":
        return contract.agency
    return contract.client_organization


def payout_refusal(contract, role, field=None):
    """Why nothing may be paid out of the contract's ``role`` payable now (its payee is not
    verified while the platform requires it), or None."""
    return verification.unverified_refusal(payee_of(contract, role), "payout", field=field)


def open_payout(account):
    return db.session.scalar(
        sa.select(Payout).filter_by(account_id=account.id, status=PayoutStatus.REQUESTED)
    )


def stripe_ready(contract, role):
    """True when the payable of ``role`` can be paid to a Stripe account that takes payouts."""
    if role == "client" or not stripe_api.enabled():
        return False
    account = providers.get("stripe").payee_account(contract, role)
    return account is not None and account.payouts_enabled


def request_payout(
    actor,
    contract,
    role,
    bank_account_name=None,
    bank_name=None,
    bank_account_number=None,
    now=None,
    details_id=None,
):
    """Ask for the whole payable balance of the contract's ``role`` account to be sent: by a
    Transfer to the payee's Stripe account when it can receive payouts (a job sends it at
    once), else by a bank transfer a manager records: to the payee's saved details
    ``details_id`` (copied onto the payout, so that a later edit changes nothing of it) or to the
    bank details typed.

    Raises NotAllowed for anyone but its owner, while its payee is not verified, or for saved
    details not the payee's; DomainError when there is nothing to pay, bank details are missing
    or the account number is not 8–30 digits; Conflict when a request is already open.
    """
    if role not in chart.PAYABLE_ROLES or not may_draw(actor, contract, role):
        raise NotAllowed()
    authz.require_verified_email(actor)
    if refused := payout_refusal(contract, role):
        raise refused
    provider = "stripe" if stripe_ready(contract, role) else "manual"
    details = [
        (value or "").strip() for value in (bank_account_name, bank_name, bank_account_number)
    ]
    saved = None
    if provider == "stripe":
        details = ["Stripe", "Stripe", "-"]
    elif details_id:
        saved = payee_details.chosen(actor, payee_of(contract, role), details_id)
        details = [saved.bank_account_name, saved.bank_name, saved.bank_account_number]
    elif not all(details):
        missing = ("bank_account_name", "bank_name", "bank_account_number")[details.index("")]
        raise DomainError(
            _l("Give the account name, the bank and the account number."), field=missing
        )
    else:
        details[2] = payee_details.account_number(details[2])
    account = ledger.account_named(chart.payable(contract.id, role))
    relock(account)
    if account.balance <= 0:
        raise DomainError(_l("There is nothing to pay out."))
    if open_payout(account) is not None:
        raise AlreadyDone(_l("A payout of this balance has already been requested."))
    payout = Payout(
        account_id=account.id,
        contract_id=contract.id,
        amount_fen=account.balance,
        currency=account.currency,
        bank_account_name=details[0][:200],
        bank_name=details[1][:200],
        bank_account_number=details[2][:60],
        payout_details_id=saved.id if saved else None,
        requested_by_id=actor.id,
        requested_at=now or utcnow(),
        provider=provider,
    )
    try:
        with db.session.begin_nested():
            db.session.add(payout)
    except IntegrityError:
        raise AlreadyDone(_l("A payout of this balance has already been requested.")) from None
    audit.record(
        "payout",
        payout.id,
        "requested",
        actor,
        to_state=payout.status,
        reason=format_money(payout.amount_fen),
    )
    providers.get(provider).start_payout(payout)
    return payout


def send_payout(actor, payout, bank_reference, now=None):
    """A manager of the contract's center records the transfer sent: the payable is paid out.

    A second recording of the same payout gets AlreadyDone and moves nothing; a payout whose
    payee is not verified (any more) is refused with NotAllowed.
    """
    if not authz.manages_center_of(actor, payout.contract):
        raise NotAllowed()
    bank_reference = (bank_reference or "").strip()
    if not bank_reference:
        raise DomainError(_l("Enter the bank's reference of the transfer."), field="bank_reference")
    relock(payout)
    if payout.status == PayoutStatus.SENT:
        raise AlreadyDone(_l("This payout has already been recorded as sent."))
    if payout.status != PayoutStatus.REQUESTED:
        raise Conflict(_l("This payout was cancelled."))
    if payout.provider != "manual":
        raise Conflict(_l("This payout is sent through Stripe."))
    if refused := payout_refusal(payout.contract, payout_role(payout), field="bank_reference"):
        raise refused
    ledger.post(
        f"payout:{payout.id}",
        "payout",
        [
            ledger.Leg(payout.account, -payout.amount_fen),
            ledger.Leg(ledger.account_named(chart.clearing("manual")), payout.amount_fen),
        ],
        description=f"{payout.contract.number} payout, bank transfer {bank_reference}",
        actor=actor,
        contract_id=payout.contract_id,
    )
    transition(payout, PayoutStatus.SENT, PAYOUT_MOVES, actor=actor, reason=bank_reference)
    payout.sent_by_id = actor.id
    payout.sent_at = now or utcnow()
    payout.bank_reference = bank_reference[:100]
    contract = payout.contract
    notify(
        [payout.requested_by],
        Kind.PAYOUT_SENT,
        f"/contracts/{contract.id}",
        contract.task,
        number=contract.number,
        amount=Amount(payout.amount_fen),
    )
    db.session.flush()
    return payout


def payout_role(payout):
    """The role of the payable the payout empties: "payee", "agency" or "client"."""
    return chart.parse_payable(payout.account.code).role


def cancel_payout(actor, payout):
    """Whoever may draw on the account withdraws an open request."""
    role = payout_role(payout)
    if not may_draw(actor, payout.contract, role):
        raise NotAllowed()
    relock(payout)
    transition(payout, PayoutStatus.CANCELLED, PAYOUT_MOVES, actor=actor)
    db.session.flush()
    return payout


def payouts_to_send(actor):
    """Requested payouts of contracts in the centers the actor manages, oldest first."""
    query = (
        sa.select(Payout)
        .join(Contract, Contract.id == Payout.contract_id)
        .where(Payout.status == PayoutStatus.REQUESTED, Payout.provider == "manual")
        .options(sa.orm.joinedload(Payout.contract), sa.orm.joinedload(Payout.account))
        .order_by(Payout.requested_at, Payout.id)
    )
    centers = authz.managed_center_ids(actor)
    if centers is not None:
        query = query.where(Contract.center_id.in_(centers))
    return list(db.session.scalars(query))


def require_manager(actor):
    if not (getattr(actor, "is_admin", False) or authz.managed_centers(actor)):
        raise NotAllowed()
