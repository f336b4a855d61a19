"""The story of the money races (tests/payments/test_concurrency.py, and the dispute races of
tests/disputes/test_dispute_concurrency.py): a module-scoped PostgreSQL app with a wide pool, and
an enterprise, a solver and managers whose contracts race."""

import datetime as dt
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from crowdsource import create_app
from crowdsource.accounts import centers as center_services
from crowdsource.accounts.models import Membership, Role, User
from crowdsource.bids import offers
from crowdsource.contracts import workflow
from crowdsource.db import db, transaction, utcnow
from crowdsource.payments import funding as fundings
from crowdsource.payments import reconcile
from crowdsource.payments.models import JournalEntry
from crowdsource.tasks import services as tasks
from tests.plugin import app_config

AMOUNT = 100_000
THREADS = 50


@pytest.fixture(scope="module")
def app(make_database_url):
    """This module's app: PostgreSQL only (row locks are what is tested), with a pool wide
    enough for 50 transactions at once (the default holds 15, and the rest would queue). The
    connections beyond the first are overflow, closed as each race ends: held for the whole
    module, they would take half the server's slots from the tests running beside it."""
    options = {"pool_pre_ping": True, "pool_size": 1, "max_overflow": THREADS + 6}
    app = create_app(app_config(make_database_url("postgresql"), SQLALCHEMY_ENGINE_OPTIONS=options))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


def user(user_id):
    """The user, loaded in the current thread's session."""
    return db.session.get(User, user_id)


def entries(kind, key):
    return db.session.scalar(
        sa.select(sa.func.count(JournalEntry.id)).where(
            JournalEntry.kind == kind, JournalEntry.idempotency_key == key
        )
    )


def assert_ledger_sound():
    assert reconcile.everything() == []


@pytest.fixture
def story(db, make_user, make_org, make_task, make_bid, centers):
    """An enterprise (owner and a colleague), a solver and two managers of the center; ``award()``
    gives a new contract of one milestone, ``fund(milestone)`` pays it into escrow and
    ``deliver(milestone)`` submits it."""
    owner = make_user(name="Li Wei")
    enterprise = make_org(owner)
    colleague = make_user(name="Zhao Min")
    with transaction():
        db.session.add(Membership(user=colleague, organization=enterprise, role=Role.MEMBER))
    solver = make_user(name="Chen Jie")
    managers = [make_user(name="Wang"), make_user(name="Liu")]
    with transaction():
        for manager in managers:
            center_services.make_manager(manager, centers["qingdao"])
    due = (utcnow() + dt.timedelta(days=30)).date()

    def award():
        task = make_task(owner, enterprise)
        bid = make_bid(solver, task, price_fen=AMOUNT, milestones=[("All of it", AMOUNT, due)])
        with transaction():
            tasks.close_bidding(owner, task)
            contract = offers.sign_both(owner, bid)
        return contract

    def fund(milestone):
        with transaction():
            started = fundings.start_funding(owner, milestone)
            fundings.confirm_bank_transfer(managers[0], started, milestone.due_fen, "ICBC-1")

    def deliver(milestone):
        with transaction():
            workflow.submit_delivery(solver, milestone.id, "Done")

    return SimpleNamespace(
        owner=owner,
        colleague=colleague,
        solver=solver,
        managers=managers,
        award=award,
        fund=fund,
        deliver=deliver,
    )


def delivered_milestone(story):
    contract = story.award()
    (milestone,) = contract.milestones
    story.fund(milestone)
    story.deliver(milestone)
    return milestone
