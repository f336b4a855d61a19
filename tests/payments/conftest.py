"""Fixtures of the money tests: the people of a contract in Laoshan (with managers up and across
the center tree) and a builder of awarded contracts."""

import datetime as dt
from types import SimpleNamespace

import pytest

from crowdsource.accounts import centers as center_services
from crowdsource.bids import services as bid_services
from crowdsource.db import transaction, utcnow
from crowdsource.tasks import services as task_services
from tests.test_queue import redis_url, rq_app  # noqa: F401  (fixtures shared with these tests)


@pytest.fixture
def people(make_user, make_org, centers):
    """An enterprise in Laoshan (and one in Zibo), an individual solver, an agency brokering for
    a university, an outsider, the admin and a manager of Shandong, Qingdao and Zibo each."""
    owner = make_user(name="Li Wei", email="li.wei@haian.example")
    enterprise = make_org(owner, name="Haian Robotics", center=centers["laoshan"])
    broker = make_user(name="Sun Mei", email="sun.mei@agency.example")
    agency = make_org(broker, name="Jiaozhou Tech Transfer", kind="agency", ownership="private")
    professor = make_user(name="Prof. Qian", email="qian@university.example")
    institute = make_org(
        professor, name="Qingdao University of Science", kind="institution", ownership="university"
    )
    zibo_owner = make_user(name="Ma Lin", email="ma.lin@zibo.example")
    zibo_enterprise = make_org(zibo_owner, name="Zibo Ceramics", center=centers["zibo"])
    managers = {}
    for code in ("shandong", "qingdao", "zibo"):
        managers[code] = make_user(name=f"Manager of {code}", email=f"{code}@centers.example")
        with transaction():
            center_services.make_manager(managers[code], centers[code])
    return SimpleNamespace(
        owner=owner,
        enterprise=enterprise,
        zibo_owner=zibo_owner,
        zibo_enterprise=zibo_enterprise,
        solver=make_user(name="Zhao Lei", email="zhao.lei@example.com"),
        broker=broker,
        agency=agency,
        professor=professor,
        institute=institute,
        outsider=make_user(name="Nosy Parker", email="nosy@example.com"),
        admin=make_user(name="Admin", email="admin@platform.example", is_admin=True),
        managers=managers,
        centers=centers,
    )


@pytest.fixture
def award(people, make_task, make_bid):
    """``award(amounts, brokerage_bps=None, bidder=None, zibo=False, **task_fields)``: a task of
    the Laoshan enterprise (the Zibo one with ``zibo=True``) bid on and awarded; returns the
    contract. With ``brokerage_bps`` the agency bids for the university at that rate; else the
    individual solver (or ``bidder``) bids for themselves."""

    def make(amounts=(500_000, 500_000), brokerage_bps=None, bidder=None, zibo=False, **fields):
        owner = people.zibo_owner if zibo else people.owner
        enterprise = people.zibo_enterprise if zibo else people.enterprise
        task = make_task(owner, enterprise, **fields)
        due = (utcnow() + dt.timedelta(days=30)).date()
        milestones = [(f"Milestone {i}", amount, due) for i, amount in enumerate(amounts, 1)]
        extra = {}
        if brokerage_bps is not None:
            extra = dict(
                agency=people.agency,
                payee_organization=people.institute,
                brokerage_bps=brokerage_bps,
            )
            bidder = people.broker
        bid = make_bid(
            bidder or people.solver, task, price_fen=sum(amounts), milestones=milestones, **extra
        )
        with transaction():
            task_services.close_bidding(owner, task)
            return bid_services.award_bid(owner, bid)

    return make


# --- Stripe, played by a local HTTP server --------------------------------------------------


@pytest.fixture
def stripe_fake(app, monkeypatch):
    """A fake Stripe (tests.payments.fake_stripe) on a free port, and the app switched to it:
    test keys, its URL as the API base and a short client timeout."""
    from tests.payments.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe

    fake = FakeStripe().start()
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", fake.url)
    monkeypatch.setitem(app.config, "STRIPE_TIMEOUT_SECONDS", 2)
    yield fake
    fake.stop()
