"""The double-entry ledger: the only code that writes journal entries and postings.

``post()`` writes one entry: two or more postings of non-zero integer amounts in the entry's
currency, summing to zero. It locks the accounts it touches in a fixed order (by id), refuses an
entry that would drive a non-clearing account below zero, and refuses an idempotency key that
was used before — so a replayed event, a retried job or a second click write nothing. The
database checks the same rules again (see crowdsource.payments.ddl).

This module knows nothing of tasks, contracts or Flask requests.
"""

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from crowdsource.db import db, lock_all
from crowdsource.errors import Conflict, DomainError
from crowdsource.money import Fen
from crowdsource.payments import ddl  # noqa: F401  (the triggers are created with the tables)
from crowdsource.payments.models import AccountKind, JournalEntry, LedgerAccount, Posting


class AlreadyPosted(Conflict):
    """An entry with this idempotency key exists: the event was already handled."""

    default_message = _l("This has already been done.")


class InsufficientFunds(DomainError):
    """The entry would take a non-clearing account below zero."""

    status_code = 409
    default_message = _l("There is not enough money in the account for this.")


class UnbalancedEntry(ValueError):
    """A programming error: postings that do not form a valid entry."""


class AccountName(Protocol):
    """What names an account: its code and kind (an account of crowdsource.payments.chart)."""

    @property
    def code(self) -> str: ...
    @property
    def kind(self) -> AccountKind: ...


def account(code: str, kind: AccountKind, currency: str = "CNY") -> LedgerAccount:
    """The account with ``code``, created (race-safely) if it does not exist yet."""
    found = db.session.scalar(sa.select(LedgerAccount).filter_by(code=code))
    if found is not None:
        if found.kind != kind or found.currency != currency:
            raise UnbalancedEntry(f"account {code} is {found.kind}/{found.currency}")
        return found
    try:
        with db.session.begin_nested():
            created = LedgerAccount(
                code=code,
                kind=kind,
                currency=currency,
                allow_negative=kind == AccountKind.CLEARING,
                balance=0,
            )
            db.session.add(created)
    except IntegrityError:
        return db.session.scalars(sa.select(LedgerAccount).filter_by(code=code)).one()
    return created


def account_named(name: AccountName, currency: str = "CNY") -> LedgerAccount:
    """The account ``name`` names, created (race-safely) if it does not exist yet."""
    return account(name.code, name.kind, currency)


def accounts(wanted: Mapping[str, AccountKind], currency: str = "CNY") -> dict[str, LedgerAccount]:
    """The accounts named in ``wanted`` ({code: kind}), found in one query and created where
    missing; returns {code: account}."""
    found = {
        acc.code: acc
        for acc in db.session.scalars(
            sa.select(LedgerAccount).where(LedgerAccount.code.in_(list(wanted)))
        )
    }
    for code, kind in wanted.items():
        if code not in found:
            found[code] = account(code, kind, currency)
        elif found[code].kind != kind or found[code].currency != currency:
            raise UnbalancedEntry(f"account {code} is {found[code].kind}/{found[code].currency}")
    return found


def find_account(code: str) -> LedgerAccount | None:
    return db.session.scalar(sa.select(LedgerAccount).filter_by(code=code))


def balance(code: str) -> Fen:
    """The current balance of the account ``code`` (0 if it does not exist)."""
    value = db.session.scalar(sa.select(LedgerAccount.balance).filter_by(code=code))
    return Fen(value or 0)


def entry_with_key(key: str) -> JournalEntry | None:
    return db.session.scalar(sa.select(JournalEntry).filter_by(idempotency_key=key))


@dataclasses.dataclass(frozen=True)
class Leg:
    """One posting of an entry to be written."""

    account: LedgerAccount
    amount: Fen


def legs_of(planned: Iterable[tuple[AccountName, Fen]], currency: str = "CNY") -> list[Leg]:
    """The legs of an entry from (account name, signed amount) pairs, the accounts found in
    one query and created where missing."""
    planned = list(planned)
    found = accounts({name.code: name.kind for name, _ in planned}, currency)
    return [Leg(found[name.code], amount) for name, amount in planned]


def _validate(legs: Sequence[Leg], currency: str) -> None:
    if len(legs) < 2:
        raise UnbalancedEntry("an entry has at least two postings")
    for leg in legs:
        if not isinstance(leg.amount, int) or isinstance(leg.amount, bool) or leg.amount == 0:
            raise UnbalancedEntry(f"posting amounts are non-zero integers, not {leg.amount!r}")
        if leg.account.currency != currency:
            raise UnbalancedEntry(f"{leg.account.code} is not in {currency}")
    if sum(leg.amount for leg in legs) != 0:
        raise UnbalancedEntry("the postings of an entry sum to zero")


def _lock_accounts(ids: Iterable[int]) -> dict[int, LedgerAccount]:
    """Lock the accounts in id order (every writer uses this order: no deadlocks) and read
    their current balances."""
    query = sa.select(LedgerAccount).where(LedgerAccount.id.in_(sorted(ids)))
    return {acc.id: acc for acc in lock_all(query.order_by(LedgerAccount.id))}


def post(
    key: str,
    kind: str,
    legs: Sequence[Leg],
    currency: str = "CNY",
    description: str = "",
    actor: Any = None,
    contract_id: int | None = None,
    milestone_id: int | None = None,
) -> JournalEntry:
    """Write one journal entry; returns it.

    Raises AlreadyPosted if ``key`` was used before, InsufficientFunds if a non-clearing
    account would go below zero, UnbalancedEntry for postings that cannot form an entry.
    """
    _validate(legs, currency)
    if entry_with_key(key) is not None:
        raise AlreadyPosted()
    db.session.flush()  # new accounts get their ids
    locked = _lock_accounts({leg.account.id for leg in legs})
    changes: dict[int, int] = {}
    for leg in legs:
        changes[leg.account.id] = changes.get(leg.account.id, 0) + leg.amount
    for account_id, change in changes.items():
        held = locked[account_id]
        if not held.allow_negative and held.balance + change < 0:
            raise InsufficientFunds()
    entry = JournalEntry(
        idempotency_key=key,
        kind=kind,
        description=description[:300],
        actor_id=getattr(actor, "id", None),
        contract_id=contract_id,
        milestone_id=milestone_id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(entry)
            db.session.flush()
            db.session.add_all(
                Posting(
                    entry_id=entry.id,
                    account_id=leg.account.id,
                    amount=leg.amount,
                    currency=currency,
                )
                for leg in legs
            )
            db.session.flush()
    except IntegrityError as error:
        if entry_with_key(key) is not None or "idempotency_key" in str(error.orig):
            raise AlreadyPosted() from None
        raise
    for held in locked.values():
        db.session.expire(held, ["balance"])  # the database added the postings to it
    return entry


# --- the whole-ledger check -------------------------------------------------------------


def check() -> list[str]:
    """Every violation of the ledger's invariants, as sentences (empty when all hold)."""
    problems: list[str] = []
    unbalanced = db.session.execute(
        sa.select(Posting.entry_id, Posting.currency, sa.func.sum(Posting.amount))
        .group_by(Posting.entry_id, Posting.currency)
        .having(sa.func.sum(Posting.amount) != 0)
    )
    problems += [
        f"entry {entry} does not balance in {currency}: off by {total}"
        for entry, currency, total in unbalanced
    ]
    counts = (
        sa.select(Posting.entry_id, sa.func.count().label("n"))
        .group_by(Posting.entry_id)
        .subquery()
    )
    short = db.session.execute(
        sa.select(JournalEntry.id, counts.c.n)
        .outerjoin(counts, counts.c.entry_id == JournalEntry.id)
        .where(sa.or_(counts.c.n.is_(None), counts.c.n < 2))
    )
    problems += [f"entry {entry} has {n or 0} postings" for entry, n in short]
    sums = (
        sa.select(Posting.account_id, sa.func.sum(Posting.amount).label("total"))
        .group_by(Posting.account_id)
        .subquery()
    )
    accounts = db.session.execute(
        sa.select(LedgerAccount, sa.func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.account_id == LedgerAccount.id)
        .execution_options(populate_existing=True)
    )
    for acc, total in accounts:
        if acc.balance != total:
            problems.append(
                f"account {acc.code}: cached balance {acc.balance} but postings sum to {total}"
            )
        if total < 0 and not acc.allow_negative:
            problems.append(f"account {acc.code} is negative ({total}) but may not be")
        if acc.allow_negative != (acc.kind == AccountKind.CLEARING):
            problems.append(f"account {acc.code} of kind {acc.kind} may wrongly go negative")
    return problems
