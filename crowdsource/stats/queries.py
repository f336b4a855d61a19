"""The aggregate queries over the raw rows: one GROUP BY per kind of fact, by the month it
happened (in the platform's time zone), contract type and center.

summary.py runs them for the months it (re)computes and keeps their results in
``stats_cells``; the figures are then added up from there. Each reads a time range by an
indexed time column (models.py). Disputes are few: they are read row by row, for medians.
"""

import dataclasses
import datetime as dt
from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa

from crowdsource.accounts.models import Membership
from crowdsource.bids.models import Bid
from crowdsource.contracts.models import Contract
from crowdsource.db import db
from crowdsource.disputes.models import Dispute, Ruling
from crowdsource.money import CURRENCY
from crowdsource.payments import chart
from crowdsource.payments.models import AccountKind, JournalEntry, LedgerAccount, Posting
from crowdsource.stats.periods import month_of, seconds_between
from crowdsource.tasks.models import ContractType, Task, TaskStatus


@dataclasses.dataclass(frozen=True)
class Slice:
    """What a set of figures covers: a time window [start, end) in UTC, the centers (a select
    of center ids, None for all of them) and optionally one contract type."""

    start: dt.datetime
    end: dt.datetime
    centers: object = None
    contract_type: ContractType | None = None

    def where(self, time_column, center_column, type_column):
        conditions = [time_column >= self.start, time_column < self.end]
        if self.centers is not None:
            conditions.append(center_column.in_(self.centers))
        if self.contract_type is not None:
            conditions.append(type_column == self.contract_type)
        return conditions


def _cells(query):
    """Rows of a grouped query, sums as ints (PostgreSQL returns sums of bigints as numeric)."""
    return [
        tuple(int(value) if isinstance(value, Decimal) else value for value in row)
        for row in db.session.execute(query)
    ]


def contract_cells(cut):
    """Contracts signed in the slice: ``(month, type, center id, count, value in fen, seconds
    from the tasks' publication to the award, summed)``."""
    month = month_of(Contract.signed_at).label("month")
    query = (
        sa.select(
            month,
            Contract.contract_type,
            Contract.center_id,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(Contract.price_fen), 0),
            sa.func.coalesce(
                sa.func.sum(seconds_between(Task.published_at, Contract.signed_at)), 0
            ),
        )
        .join(Task, Task.id == Contract.task_id)
        .where(
            Contract.currency == CURRENCY,
            *cut.where(Contract.signed_at, Contract.center_id, Contract.contract_type),
        )
        .group_by("month", Contract.contract_type, Contract.center_id)
    )
    return [(*row[:5], round(row[5] or 0)) for row in _cells(query)]


def task_cells(cut):
    """Tasks published in the slice: ``(month, type, center id, count)``."""
    month = month_of(Task.published_at).label("month")
    query = (
        sa.select(month, Task.contract_type, Task.center_id, sa.func.count(Task.id))
        .where(
            Task.status != TaskStatus.DRAFT,
            *cut.where(Task.published_at, Task.center_id, Task.contract_type),
        )
        .group_by("month", Task.contract_type, Task.center_id)
    )
    return _cells(query)


def bid_cells(cut):
    """Bids received in the slice, by the month they came and their task's type and center:
    ``(month, type, center id, count)``. A bid withdrawn later still counts: it was received."""
    month = month_of(Bid.created_at).label("month")
    query = (
        sa.select(month, Task.contract_type, Task.center_id, sa.func.count(Bid.id))
        .join(Task, Task.id == Bid.task_id)
        .where(*cut.where(Bid.created_at, Task.center_id, Task.contract_type))
        .group_by("month", Task.contract_type, Task.center_id)
    )
    return _cells(query)


#: what an account is, for the money figures
_ROLE = sa.case(
    (chart.of_kind(AccountKind.ESCROW), "escrow"),
    (chart.of_family(chart.Family.COMMISSION_REVENUE), "commission"),
    (chart.payables(role="agency"), "agency"),
    (chart.payables(role="client"), "client"),
    else_="other",
).label("role")

MONEY_FIGURES = ("funded", "released", "refunded", "commission", "brokerage")


def money_cells(cut):
    """Money that moved in the slice, read from the ledger, by the entry's month and the
    contract's type and center: ``{(month, type, center id): {figure: fen}}`` for the figures
    of MONEY_FIGURES.

    funded: paid into escrow; released: taken out of escrow for the payee's side (with the
    fees taken from it); refunded: returned to the enterprise (a refund, or a ruling's part
    for the enterprise); commission: the platform's commission; brokerage: the agencies'.
    """
    month = month_of(JournalEntry.created_at).label("month")
    query = (
        sa.select(
            month,
            Contract.contract_type,
            Contract.center_id,
            JournalEntry.kind,
            _ROLE,
            sa.func.sum(Posting.amount),
        )
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .join(Contract, Contract.id == JournalEntry.contract_id)
        .where(
            JournalEntry.kind.in_(("fund", "release", "refund", "ruling")),
            Posting.currency == CURRENCY,
            *cut.where(JournalEntry.created_at, Contract.center_id, Contract.contract_type),
        )
        .group_by("month", Contract.contract_type, Contract.center_id, JournalEntry.kind, "role")
    )
    cells = defaultdict(lambda: dict.fromkeys(MONEY_FIGURES, 0))
    for month_key, contract_type, center_id, kind, role, amount in _cells(query):
        figures = cells[(month_key, contract_type, center_id)]
        if role == "escrow":
            key = {"fund": "funded", "release": "released", "ruling": "released"}.get(kind)
            key = key or "refunded"
            figures[key] += amount if kind == "fund" else -amount
        elif role == "client" and kind == "ruling":
            # a ruling's escrow leg holds both parts: the enterprise's was not released
            figures["refunded"] += amount
            figures["released"] -= amount
        elif role == "commission":
            figures["commission"] += amount
        elif role == "agency":
            figures["brokerage"] += amount
    return dict(cells)


@dataclasses.dataclass
class DisputeFact:
    opened_at: dt.datetime
    contract_type: ContractType
    center_id: int
    #: when the first ruling was made, or None
    ruled_at: dt.datetime | None


def disputes(cut):
    """Disputes opened or first ruled in the slice, with their first ruling's time."""
    first_ruling = (
        sa.select(Ruling.dispute_id, sa.func.min(Ruling.created_at).label("ruled_at"))
        .group_by(Ruling.dispute_id)
        .subquery()
    )
    in_window = sa.or_(
        sa.and_(Dispute.opened_at >= cut.start, Dispute.opened_at < cut.end),
        sa.and_(first_ruling.c.ruled_at >= cut.start, first_ruling.c.ruled_at < cut.end),
    )
    conditions = [in_window]
    if cut.centers is not None:
        conditions.append(Dispute.center_id.in_(cut.centers))
    if cut.contract_type is not None:
        conditions.append(Contract.contract_type == cut.contract_type)
    query = (
        sa.select(
            Dispute.opened_at, Contract.contract_type, Dispute.center_id, first_ruling.c.ruled_at
        )
        .join(Contract, Contract.id == Dispute.contract_id)
        .outerjoin(first_ruling, first_ruling.c.dispute_id == Dispute.id)
        .where(*conditions)
    )
    return [DisputeFact(*row) for row in db.session.execute(query)]


# --- facts with their contributors, for disclosure control (public.py, intruder.py) --------


@dataclasses.dataclass(frozen=True)
class ContractFact:
    id: int
    month: str
    contract_type: ContractType
    center_id: int
    value_fen: int
    enterprise: tuple
    payee: tuple
    #: the organizations and people party to it (members of those organizations too)
    parties: frozenset


def _party(kind, number):
    return None if number is None else (kind, number)


def members_of():
    """{("org", id): the ("user", id) of its members}: a member knows its organization's
    contracts."""
    members = defaultdict(set)
    for user_id, organization_id in db.session.execute(
        sa.select(Membership.user_id, Membership.organization_id)
    ):
        members[("org", organization_id)].add(("user", user_id))
    return members


def contract_facts(start, end):
    """Every contract signed in [start, end), one row each, with its contributors: the
    enterprise and the payee (the individual solver, or the organization paid)."""
    month = month_of(Contract.signed_at).label("month")
    query = sa.select(
        Contract.id,
        month,
        Contract.contract_type,
        Contract.center_id,
        Contract.price_fen,
        Contract.client_organization_id,
        Contract.payee_user_id,
        Contract.payee_organization_id,
        Contract.agency_id,
        Contract.solver_id,
    ).where(Contract.currency == CURRENCY, Contract.signed_at >= start, Contract.signed_at < end)
    members = members_of()
    facts = []
    for row in db.session.execute(query):
        enterprise = ("org", row.client_organization_id)
        payee = _party("user", row.payee_user_id) or ("org", row.payee_organization_id)
        direct = {enterprise, payee, ("user", row.solver_id)}
        if row.agency_id is not None:
            direct.add(("org", row.agency_id))
        parties = set(direct)
        for party in direct:
            parties |= members.get(party, set())
        facts.append(
            ContractFact(
                row.id,
                row.month,
                row.contract_type,
                row.center_id,
                int(row.price_fen),
                enterprise,
                payee,
                frozenset(parties),
            )
        )
    return facts


def task_contributions(start, end):
    """Tasks published in [start, end) by month, type and posting organization:
    ``(month, type, ("org", id), count)``."""
    month = month_of(Task.published_at).label("month")
    query = (
        sa.select(month, Task.contract_type, Task.organization_id, sa.func.count(Task.id))
        .where(Task.status != TaskStatus.DRAFT, Task.published_at >= start, Task.published_at < end)
        .group_by("month", Task.contract_type, Task.organization_id)
    )
    return [(m, t, ("org", o), n) for m, t, o, n in _cells(query)]


def bid_contributions(start, end):
    """Bids received in [start, end) by month, their task's type and bidder (the agency, or
    the individual): ``(month, type, bidder, count)``."""
    month = month_of(Bid.created_at).label("month")
    query = (
        sa.select(month, Task.contract_type, Bid.bidder_key, sa.func.count(Bid.id))
        .join(Task, Task.id == Bid.task_id)
        .where(Bid.created_at >= start, Bid.created_at < end)
        .group_by("month", Task.contract_type, Bid.bidder_key)
    )
    return _cells(query)
