"""The chart of accounts: every family of ledger accounts, how its codes are built, the one
parser of codes, and the SQL that selects the accounts of a family.

=============================================  =========  ===============================
code                                           kind       holds
=============================================  =========  ===============================
``escrow:milestone:<milestone id>``            escrow     a funded milestone's money
``payable:contract:<contract id>:<role>``      payable    what a contract's payee, agency
                                                          or (refunds) client is owed
``revenue:commission``                         revenue    the platform's commission
``revenue:client-fee``                         revenue    the client-side fee
``revenue:center:<center id>``                 revenue    a center's share
``clearing:<name>``                            clearing   money outside the platform:
                                                          ``bank`` (the ``manual``
                                                          provider), ``stripe``
=============================================  =========  ===============================

This module is the only code that builds or parses an account code, or matches codes in SQL
(a test greps the package for it). The codes are stored in the database: they are part of the
data, so a family's code never changes once accounts of it exist. A new family (a voucher fund,
a prize's escrow) is a new class here, a pattern in ``_PATTERNS`` and a test of its round trip.
"""

import dataclasses
import enum
import re
from typing import ClassVar, Final, Literal, TypeAlias, get_args

import sqlalchemy as sa

from crowdsource.db import db
from crowdsource.payments.models import AccountKind, LedgerAccount

#: who a contract's payable accounts are for: the payee, the agency (brokerage), the
#: enterprise (refunds to send back)
PayableRole: TypeAlias = Literal["payee", "agency", "client"]
PAYABLE_ROLES: Final[tuple[PayableRole, ...]] = get_args(PayableRole)

#: the clearing account of each provider, where it is not named after the provider
CLEARING_OF_PROVIDER: Final = {"manual": "bank"}

_ID = "[1-9][0-9]*"  # ASCII digits only (``\d`` would take any script's digits)
_NAME = "[a-z][a-z0-9-]*"


class Family(enum.Enum):
    """A family of accounts: the accounts whose codes follow one pattern."""

    MILESTONE_ESCROW = "escrow:milestone"
    CONTRACT_PAYABLE = "payable:contract"
    COMMISSION_REVENUE = "revenue:commission"
    CLIENT_FEE_REVENUE = "revenue:client-fee"
    CENTER_REVENUE = "revenue:center"
    CLEARING = "clearing"


class MalformedCode(ValueError):
    """A text that is no account code of the chart (or keys that make none)."""


def _require_id(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise MalformedCode(f"{name} is a positive integer, not {value!r}")


@dataclasses.dataclass(frozen=True)
class MilestoneEscrow:
    """The escrow of one milestone: what the enterprise paid in, until it is settled."""

    milestone_id: int
    family: ClassVar[Family] = Family.MILESTONE_ESCROW
    kind: ClassVar[AccountKind] = AccountKind.ESCROW

    def __post_init__(self) -> None:
        _require_id("milestone_id", self.milestone_id)

    @property
    def code(self) -> str:
        return f"escrow:milestone:{self.milestone_id}"


@dataclasses.dataclass(frozen=True)
class ContractPayable:
    """What the platform owes one party of a contract, until it is paid out."""

    contract_id: int
    role: PayableRole
    family: ClassVar[Family] = Family.CONTRACT_PAYABLE
    kind: ClassVar[AccountKind] = AccountKind.PAYABLE

    def __post_init__(self) -> None:
        _require_id("contract_id", self.contract_id)
        if self.role not in PAYABLE_ROLES:
            raise MalformedCode(f"a payable's role is one of {PAYABLE_ROLES}, not {self.role!r}")

    @property
    def code(self) -> str:
        return f"payable:contract:{self.contract_id}:{self.role}"


@dataclasses.dataclass(frozen=True)
class CommissionRevenue:
    """The platform's commission on released money."""

    family: ClassVar[Family] = Family.COMMISSION_REVENUE
    kind: ClassVar[AccountKind] = AccountKind.REVENUE

    @property
    def code(self) -> str:
        return "revenue:commission"


@dataclasses.dataclass(frozen=True)
class ClientFeeRevenue:
    """The client-side fee the enterprise pays on top of a milestone's amount."""

    family: ClassVar[Family] = Family.CLIENT_FEE_REVENUE
    kind: ClassVar[AccountKind] = AccountKind.REVENUE

    @property
    def code(self) -> str:
        return "revenue:client-fee"


@dataclasses.dataclass(frozen=True)
class CenterRevenue:
    """A center's share of the money released on its contracts."""

    center_id: int
    family: ClassVar[Family] = Family.CENTER_REVENUE
    kind: ClassVar[AccountKind] = AccountKind.REVENUE

    def __post_init__(self) -> None:
        _require_id("center_id", self.center_id)

    @property
    def code(self) -> str:
        return f"revenue:center:{self.center_id}"


@dataclasses.dataclass(frozen=True)
class Clearing:
    """Money outside the platform, at a provider (may go negative)."""

    name: str
    family: ClassVar[Family] = Family.CLEARING
    kind: ClassVar[AccountKind] = AccountKind.CLEARING

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(_NAME, self.name):
            raise MalformedCode(f"a clearing account's name is like 'bank', not {self.name!r}")

    @property
    def code(self) -> str:
        return f"clearing:{self.name}"


#: an account of the chart, as a typed value: its family, its keys, its code and kind
Account: TypeAlias = (
    MilestoneEscrow
    | ContractPayable
    | CommissionRevenue
    | ClientFeeRevenue
    | CenterRevenue
    | Clearing
)

#: the families by their classes, and the kind of account each is
FAMILIES: Final[dict[Family, type[Account]]] = {
    Family.MILESTONE_ESCROW: MilestoneEscrow,
    Family.CONTRACT_PAYABLE: ContractPayable,
    Family.COMMISSION_REVENUE: CommissionRevenue,
    Family.CLIENT_FEE_REVENUE: ClientFeeRevenue,
    Family.CENTER_REVENUE: CenterRevenue,
    Family.CLEARING: Clearing,
}


# --- constructors ------------------------------------------------------------------------------


def escrow(milestone_id: int) -> MilestoneEscrow:
    return MilestoneEscrow(milestone_id)


def payable(contract_id: int, role: PayableRole) -> ContractPayable:
    return ContractPayable(contract_id, role)


def commission_revenue() -> CommissionRevenue:
    return CommissionRevenue()


def client_fee_revenue() -> ClientFeeRevenue:
    return ClientFeeRevenue()


def center_revenue(center_id: int) -> CenterRevenue:
    return CenterRevenue(center_id)


def clearing(provider: str) -> Clearing:
    """The clearing account of a payment provider: bank transfers (``manual``) clear through
    the bank."""
    return Clearing(CLEARING_OF_PROVIDER.get(provider, provider))


def payables_of_contract(contract_id: int) -> list[ContractPayable]:
    """Every payable account a contract may have, one per role."""
    return [ContractPayable(contract_id, role) for role in PAYABLE_ROLES]


# --- the parser --------------------------------------------------------------------------------

_PATTERNS: Final = (
    (re.compile(f"escrow:milestone:(?P<id>{_ID})"), lambda m: MilestoneEscrow(int(m["id"]))),
    (
        re.compile(f"payable:contract:(?P<id>{_ID}):(?P<role>{'|'.join(PAYABLE_ROLES)})"),
        lambda m: ContractPayable(int(m["id"]), m["role"]),
    ),
    (re.compile("revenue:commission"), lambda m: CommissionRevenue()),
    (re.compile("revenue:client-fee"), lambda m: ClientFeeRevenue()),
    (re.compile(f"revenue:center:(?P<id>{_ID})"), lambda m: CenterRevenue(int(m["id"]))),
    (re.compile(f"clearing:(?P<name>{_NAME})"), lambda m: Clearing(m["name"])),
)


def parse(code: str) -> Account:
    """The account a code names (``parse(a.code) == a`` for every account ``a``); raises
    MalformedCode for any other text, leading zeros, unknown roles and spaces included."""
    if isinstance(code, str):
        for pattern, build in _PATTERNS:
            match = pattern.fullmatch(code)
            if match is not None:
                account: Account = build(match)
                return account
    raise MalformedCode(f"{code!r} is no account code of the chart")


def parse_payable(code: str) -> ContractPayable:
    """The payable account a code names; raises MalformedCode for any other code."""
    account = parse(code)
    if not isinstance(account, ContractPayable):
        raise MalformedCode(f"{code!r} is no payable account")
    return account


def parse_or_none(code: str) -> Account | None:
    """The account a code names, or None for text that is no code of the chart."""
    try:
        return parse(code)
    except MalformedCode:
        return None


# --- in SQL ------------------------------------------------------------------------------------

Column: TypeAlias = sa.ColumnElement[str]


#: the families of one account each
_SINGLE_ACCOUNT: Final[dict[Family, Account]] = {
    Family.COMMISSION_REVENUE: CommissionRevenue(),
    Family.CLIENT_FEE_REVENUE: ClientFeeRevenue(),
}


def _code_column(column: Column | None) -> Column:
    return LedgerAccount.code.expression if column is None else column


def of_family(family: Family, column: Column | None = None) -> sa.ColumnElement[bool]:
    """A condition on an account code column: the account belongs to ``family``."""
    code = _code_column(column)
    single = _SINGLE_ACCOUNT.get(family)
    if single is not None:
        return code == single.code
    return code.startswith(f"{family.value}:", autoescape=True)


def of_kind(kind: AccountKind, column: Column | None = None) -> sa.ColumnElement[bool]:
    """A condition on an account code column: the account belongs to a family of ``kind``."""
    conditions = [of_family(family, column) for family, cls in FAMILIES.items() if cls.kind == kind]
    if not conditions:
        return sa.false()
    return sa.or_(*conditions)


def payables(
    contract_id: int | None = None, role: PayableRole | None = None, column: Column | None = None
) -> sa.ColumnElement[bool]:
    """A condition on an account code column: a payable account (of the contract, of the
    role, or both)."""
    code = _code_column(column)
    if contract_id is not None:
        roles = PAYABLE_ROLES if role is None else (role,)
        return code.in_([ContractPayable(contract_id, each).code for each in roles])
    if role is None:
        return of_family(Family.CONTRACT_PAYABLE, column)
    if role not in PAYABLE_ROLES:
        raise MalformedCode(f"a payable's role is one of {PAYABLE_ROLES}, not {role!r}")
    return code.like(f"{Family.CONTRACT_PAYABLE.value}:%:{role}")


# --- the check ---------------------------------------------------------------------------------


def check() -> list[str]:
    """Every account whose code is not in the chart, or whose kind is not its family's, as
    sentences (empty when every account fits the chart). Reads only."""
    problems = []
    for code, kind in db.session.execute(sa.select(LedgerAccount.code, LedgerAccount.kind)):
        account = parse_or_none(code)
        if account is None:
            problems.append(f"account {code} is not in the chart of accounts")
        elif account.kind != kind:
            problems.append(
                f"account {code} is of kind {kind}, but its family is of kind {account.kind}"
            )
    return problems
