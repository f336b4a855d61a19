"""The database itself keeps the ledger's rules when the Python checks are bypassed (raw SQL):
entries balance and have two postings or more (PostgreSQL, at commit), postings and entries are
never updated or deleted, and no posting takes an escrow account below zero (both databases).
In each case nothing is stored."""

import pytest
import sqlalchemy as sa

from crowdsource.db import db, transaction, utcnow
from crowdsource.payments import ledger
from crowdsource.payments.models import AccountKind
from tests.helpers import table_counts

NEW_ENTRY = sa.text(
    "INSERT INTO journal_entries (idempotency_key, kind, description, created_at) "
    "VALUES (:key, 'fund', 'raw', :now) RETURNING id"
)
NEW_POSTING = sa.text(
    "INSERT INTO postings (entry_id, account_id, amount, currency) "
    "VALUES (:entry, :account, :amount, 'CNY')"
)


@pytest.fixture
def accounts(db):
    """The bank's clearing account and a milestone's escrow holding ¥1,000.00, committed."""
    with transaction():
        bank = ledger.account("clearing:bank", AccountKind.CLEARING)
        held = ledger.account("escrow:milestone:1", AccountKind.ESCROW)
        ledger.post("fund:test", "fund", [ledger.Leg(bank, -100_000), ledger.Leg(held, 100_000)])
    return {"bank": bank.id, "escrow": held.id}


def raw_entry(session_or_connection, key, postings):
    """Insert an entry and its postings ((account id, amount), …) with SQL only."""
    entry = session_or_connection.execute(NEW_ENTRY, {"key": key, "now": utcnow()}).scalar_one()
    for account, amount in postings:
        session_or_connection.execute(
            NEW_POSTING, {"entry": entry, "account": account, "amount": amount}
        )
    return entry


def balances():
    rows = db.session.execute(sa.select(ledger.LedgerAccount.code, ledger.LedgerAccount.balance))
    return dict(rows.all())


def assert_nothing_stored(before_counts, before_balances):
    db.session.rollback()
    assert table_counts() == before_counts
    assert balances() == before_balances
    assert ledger.check() == []


@pytest.mark.postgresql
@pytest.mark.committing  # the balance is checked at the real commit
def test_an_entry_that_does_not_balance_is_refused_at_commit(accounts):
    before = table_counts(), balances()
    with pytest.raises(sa.exc.IntegrityError, match="does not balance"), transaction():
        raw_entry(
            db.session, "raw:unbalanced", [(accounts["bank"], -500), (accounts["escrow"], 400)]
        )
    assert_nothing_stored(*before)


@pytest.mark.postgresql
@pytest.mark.committing  # the balance is checked at the real commit
def test_an_entry_with_a_single_posting_is_refused_at_commit(accounts):
    before = table_counts(), balances()
    with pytest.raises(sa.exc.IntegrityError, match="fewer than two postings"), transaction():
        raw_entry(db.session, "raw:single", [(accounts["escrow"], 500)])
    assert_nothing_stored(*before)


@pytest.mark.postgresql
@pytest.mark.committing  # the balance is checked at the real commit
def test_an_entry_without_postings_is_refused_at_commit(accounts):
    before = table_counts(), balances()
    with pytest.raises(sa.exc.IntegrityError, match="fewer than two postings"), transaction():
        raw_entry(db.session, "raw:empty", [])
    assert_nothing_stored(*before)


@pytest.mark.postgresql
def test_a_balanced_raw_entry_is_accepted_so_the_refusals_are_about_the_rules(accounts):
    with transaction():
        raw_entry(db.session, "raw:fine", [(accounts["bank"], -500), (accounts["escrow"], 500)])
    assert ledger.balance("escrow:milestone:1") == 100_500
    assert ledger.check() == []


@pytest.mark.postgresql
@pytest.mark.committing  # the balance is checked at the real commit
def test_an_unbalanced_entry_is_refused_on_a_separate_connection_too(app, accounts):
    before = table_counts(), balances()
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with (
            pytest.raises(sa.exc.IntegrityError, match="does not balance"),
            engine.begin() as connection,
        ):
            raw_entry(connection, "raw:elsewhere", [(accounts["escrow"], 7)] * 2)
    finally:
        engine.dispose()
    assert_nothing_stored(*before)


@pytest.mark.postgresql
@pytest.mark.committing  # the balance is checked at the real commit
def test_balance_is_checked_per_entry_not_over_the_transaction(accounts):
    # Two entries that are each off by 300 but together sum to zero: both refused.
    before = table_counts(), balances()
    with pytest.raises(sa.exc.IntegrityError, match="does not balance"), transaction():
        raw_entry(db.session, "raw:a", [(accounts["bank"], -300), (accounts["escrow"], 600)])
        raw_entry(db.session, "raw:b", [(accounts["bank"], -500), (accounts["escrow"], 200)])
    assert_nothing_stored(*before)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE postings SET amount = amount * 2",
        "DELETE FROM postings",
        "UPDATE journal_entries SET description = 'edited'",
        "DELETE FROM journal_entries",
    ],
)
def test_postings_and_entries_can_be_neither_updated_nor_deleted(accounts, statement):
    before = table_counts(), balances()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), transaction():
        db.session.execute(sa.text(statement))
    assert_nothing_stored(*before)


def test_a_posting_cannot_take_an_escrow_account_below_zero(accounts):
    before = table_counts(), balances()
    # Balanced, so only the sign of the escrow's balance is wrong: 1,000.00 held, 1,000.01 out.
    with pytest.raises(sa.exc.IntegrityError, match="balance_not_negative"), transaction():
        raw_entry(
            db.session,
            "raw:overdraw",
            [(accounts["escrow"], -100_001), (accounts["bank"], 100_001)],
        )
    assert_nothing_stored(*before)
    assert ledger.balance("escrow:milestone:1") == 100_000


def test_a_balance_set_below_zero_directly_is_refused(accounts):
    before = table_counts(), balances()
    with pytest.raises(sa.exc.IntegrityError, match="balance_not_negative"), transaction():
        db.session.execute(
            sa.text("UPDATE ledger_accounts SET balance = -1 WHERE code = 'escrow:milestone:1'")
        )
    assert_nothing_stored(*before)


def test_only_clearing_accounts_may_be_allowed_to_go_negative(accounts):
    before = table_counts(), balances()
    with pytest.raises(sa.exc.IntegrityError, match="only_clearing_negative"), transaction():
        db.session.execute(
            sa.text("UPDATE ledger_accounts SET allow_negative = true WHERE kind = 'escrow'")
        )
    assert_nothing_stored(*before)


def test_an_idempotency_key_is_used_once(accounts):
    before = table_counts(), balances()
    with pytest.raises(sa.exc.IntegrityError), transaction():
        raw_entry(db.session, "fund:test", [(accounts["bank"], -1), (accounts["escrow"], 1)])
    assert_nothing_stored(*before)
