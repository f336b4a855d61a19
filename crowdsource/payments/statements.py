"""Statements read from the ledger: a contract's money per milestone, a party's earnings and
payouts, the platform's revenue by month and center; and their CSV forms."""

import csv
import dataclasses
import io
from collections import defaultdict

import sqlalchemy as sa
from flask_babel import get_timezone

from crowdsource.accounts import authz
from crowdsource.contracts.models import Contract
from crowdsource.db import db
from crowdsource.money import fen_to_yuan_text
from crowdsource.payments import chart
from crowdsource.payments.models import AccountKind, JournalEntry, LedgerAccount, Payout, Posting


@dataclasses.dataclass
class MilestoneMoney:
    """What happened to one milestone's money, in fen."""

    milestone: object
    due: int
    funded: int = 0
    released: int = 0
    refunded: int = 0
    payee: int = 0
    brokerage: int = 0
    commission: int = 0
    client_fee: int = 0
    center_share: int = 0

    @property
    def in_escrow(self):
        return self.funded - self.released - self.refunded


def _role_of(code):
    """What an account of a posting is, from the milestone's point of view."""
    match chart.parse_or_none(code):
        case chart.MilestoneEscrow():
            return "escrow"
        case chart.ContractPayable(role=role):
            return role  # payee, agency, client
        case chart.CommissionRevenue():
            return "commission"
        case chart.ClientFeeRevenue():
            return "client_fee"
        case chart.CenterRevenue():
            return "center_share"
    return "clearing"


def contract_money(contract):
    """Per milestone (in order) what is due, funded, released (and how it was split) and
    refunded, read from the contract's ledger entries; and the totals."""
    rows = {
        milestone.id: MilestoneMoney(milestone, milestone.due_fen)
        for milestone in contract.milestones
    }
    postings = db.session.execute(
        sa.select(JournalEntry.kind, JournalEntry.milestone_id, LedgerAccount.code, Posting.amount)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(JournalEntry.contract_id == contract.id, JournalEntry.milestone_id.is_not(None))
    )
    for kind, milestone_id, code, amount in postings:
        row = rows[milestone_id]
        role = _role_of(code)
        if role == "escrow":
            if kind == "fund":
                row.funded += amount
            elif kind == "release":
                row.released -= amount
            elif kind == "refund":
                row.refunded -= amount
        elif kind in ("release", "ruling") and role in (
            "payee",
            "agency",
            "commission",
            "client_fee",
            "center_share",
        ):
            attribute = "brokerage" if role == "agency" else role
            setattr(row, attribute, getattr(row, attribute) + amount)
            if kind == "ruling":  # a ruling's escrow leg holds both parts: count each here
                row.released += amount
        elif kind == "ruling" and role == "client":
            row.refunded += amount
    milestones = [rows[m.id] for m in contract.milestones]
    totals = MilestoneMoney(None, sum(row.due for row in milestones))
    for field in (
        "funded",
        "released",
        "refunded",
        "payee",
        "brokerage",
        "commission",
        "client_fee",
        "center_share",
    ):
        setattr(totals, field, sum(getattr(row, field) for row in milestones))
    return milestones, totals


@dataclasses.dataclass
class PayableLine:
    """One account the user may draw on: a contract's payee, agency or refund balance."""

    contract: Contract
    role: str
    account: LedgerAccount | None
    earned: int = 0
    paid_out: int = 0
    gross: int = 0
    commission: int = 0
    brokerage: int = 0
    center_share: int = 0
    payouts: list = dataclasses.field(default_factory=list)

    @property
    def balance(self):
        return self.account.balance if self.account is not None else 0


def _contracts_of(user):
    organizations = authz.organization_ids_of(user)
    condition = sa.or_(
        Contract.payee_user_id == user.id,
        Contract.payee_organization_id.in_(organizations),
        Contract.agency_id.in_(organizations),
        Contract.client_organization_id.in_(organizations),
    )
    return db.session.scalars(
        sa.select(Contract).where(condition).order_by(Contract.signed_at.desc())
    ).all()


def payables_of(user):
    """Every payable the user may draw on, with what was earned on it (and, for the payee and
    the agency, the gross released and the fees deducted) and its payouts."""
    from crowdsource.payments.payouts import may_draw

    lines = {}
    for contract in _contracts_of(user):
        for role in chart.PAYABLE_ROLES:
            if may_draw(user, contract, role):
                code = chart.payable(contract.id, role).code
                lines[code] = PayableLine(contract, role, None)
    if not lines:
        return []
    for account in db.session.scalars(
        sa.select(LedgerAccount).where(LedgerAccount.code.in_(list(lines)))
    ):
        lines[account.code].account = account
    account_ids = {line.account.id: line for line in lines.values() if line.account}
    postings = db.session.execute(
        sa.select(Posting.account_id, Posting.amount, Posting.entry_id, JournalEntry.kind)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(Posting.account_id.in_(list(account_ids)))
    ).all()
    release_entries = defaultdict(list)
    for account_id, amount, entry_id, kind in postings:
        line = account_ids[account_id]
        if amount > 0:
            line.earned += amount
        else:
            line.paid_out -= amount
        if kind in ("release", "ruling") and line.role in ("payee", "agency"):
            release_entries[entry_id].append(line)
    if release_entries:
        for entry_id, code, amount in db.session.execute(
            sa.select(Posting.entry_id, LedgerAccount.code, Posting.amount)
            .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
            .where(Posting.entry_id.in_(list(release_entries)))
        ):
            role = _role_of(code)
            for line in release_entries[entry_id]:
                if line.role != "payee":
                    continue
                if role == "escrow":
                    line.gross -= amount
                elif role in ("client_fee", "client"):
                    # the client-side fee is paid on top of the gross; a ruling's refund
                    # went back to the enterprise
                    line.gross -= amount
                elif role == "commission":
                    line.commission += amount
                elif role == "agency":
                    line.brokerage += amount
                elif role == "center_share":
                    line.center_share += amount
    payouts = db.session.scalars(
        sa.select(Payout).where(Payout.account_id.in_(list(account_ids))).order_by(Payout.id)
    )
    for payout in payouts:
        account_ids[payout.account_id].payouts.append(payout)
    return list(lines.values())


def revenue_by_month_and_center():
    """Platform revenue (commission, client fees, center shares) per month (in the viewer's
    time zone) and center: {(month, center): {"commission": …, "client_fee": …, …}}."""
    rows = db.session.execute(
        sa.select(JournalEntry.created_at, Contract.center_id, LedgerAccount.code, Posting.amount)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .join(Contract, Contract.id == JournalEntry.contract_id)
        .where(chart.of_kind(AccountKind.REVENUE))
    )
    zone = get_timezone()
    table = defaultdict(lambda: defaultdict(int))
    for created_at, center_id, code, amount in rows:
        month = created_at.astimezone(zone).strftime("%Y-%m")
        table[(month, center_id)][_role_of(code)] += amount
    return dict(sorted(table.items(), reverse=True))


def to_csv(header, rows):
    """CSV text (UTF-8 with a BOM, so that spreadsheet programs show Chinese correctly)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def yuan(fen):
    return fen_to_yuan_text(fen)
