"""Contract services: numbering and creating the contract of an awarded bid; who may see it."""

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from crowdsource.accounts import authz
from crowdsource.contracts.models import Contract, ContractNumber, Milestone
from crowdsource.db import db
from crowdsource.payments import policy


def next_contract_number(year):
    """The next number of ``year``, "CS-<year>-<six digits>"; concurrent callers get distinct
    numbers (the year's counter row is updated in place, which locks it)."""
    if db.session.get(ContractNumber, year) is None:
        try:
            with db.session.begin_nested():
                db.session.add(ContractNumber(year=year, last=0))
        except IntegrityError:
            pass  # another transaction created the year's counter first
    sequence = db.session.execute(
        sa.update(ContractNumber)
        .where(ContractNumber.year == year)
        .values(last=ContractNumber.last + 1)
        .returning(ContractNumber.last)
    ).scalar_one()
    return f"CS-{year}-{sequence:06d}"


def contract_year(moment):
    """The year a contract signed at ``moment`` is numbered in: the platform's local year (a
    contract signed on 1 January at 07:00 in Qingdao is one of the new year's, though it is
    still 31 December in UTC)."""
    return moment.astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).year


def create_contract(task, bid, now, offer=None):
    """The contract of ``bid`` on ``task``, with the bid's milestones, in state active/pending,
    signed ``now``: under the rates of the ``offer`` both sides signed (else the policy in
    force now).

    The payee is the bid's payee institution, else the agency, else the individual bidder.
    """
    payee_organization = bid.payee_organization or bid.agency
    rates = offer.rates if offer is not None else policy.in_force(task.center, task.contract_type)
    contract = Contract(
        number=next_contract_number(contract_year(now)),
        task_id=task.id,
        bid_id=bid.id,
        client_organization_id=task.organization_id,
        solver_id=bid.bidder_id,
        agency_id=bid.agency_id,
        payee_organization_id=payee_organization.id if payee_organization else None,
        payee_user_id=None if payee_organization else bid.bidder_id,
        brokerage_bps=bid.brokerage_bps if bid.payee_organization_id else 0,
        center_id=task.center_id,
        contract_type=task.contract_type,
        ip_terms=task.ip_terms,
        price_fen=bid.price_fen,
        currency=bid.currency,
        signed_at=now,
        offer_id=offer.id if offer is not None else None,
        # The policy in force at the offer is the contract's for good: later changes do not apply.
        commission_bps=rates.commission_bps,
        client_fee_bps=rates.client_fee_bps,
        center_share_bps=rates.center_share_bps,
    )
    db.session.add(contract)
    for milestone in bid.milestones:
        contract.milestones.append(
            Milestone(
                position=milestone.position,
                title=milestone.title,
                amount_fen=milestone.amount_fen,
                due_date=milestone.due_date,
            )
        )
    db.session.flush()
    return contract


def can_view(user, contract):
    """The parties (enterprise, solver, agency, payee), the center's managers and the admin."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.id in (contract.solver_id, contract.payee_user_id):
        return True
    organizations = authz.organization_ids_of(user)
    parties = {
        contract.client_organization_id,
        contract.agency_id,
        contract.payee_organization_id,
    }
    return bool(organizations & parties) or authz.manages_center_of(user, contract)
