"""A seeded market with known totals per contract type, center and year: contracts awarded
through the real services and then dated into 2024 and 2025, public open tasks, a private
task and a draft, money that moved through escrow (with agency brokerage) and a ruled
dispute."""

import datetime as dt
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from crowdsource.bids import offers
from crowdsource.bids.models import Bid
from crowdsource.db import db, transaction, utcnow
from crowdsource.disputes import services as disputes
from crowdsource.tasks import services as task_services
from tests.payments.support import accept, deliver, fund
from tests.plugin import (
    add_centers,
    bid_builder,
    build_people,
    org_builder,
    shared_rows_of,
    task_builder,
    user_builder,
)
from tests.stats.market import (
    AGENCY_CONTRACT,
    CONTRACTS,
    DRAFT_TASK_TITLE,
    OPEN_TASK_TITLE,
    PARTIES,
    PRIVATE_TASK_TITLE,
    UNAWARDED_2025,
    moment,
)


@pytest.fixture(autouse=True)
def fresh_statistics(app, monkeypatch):
    """No cached public figures and no rate limit, unless a test sets one."""
    monkeypatch.setitem(app.config, "STATS_CACHE_SECONDS", 0)
    monkeypatch.setitem(app.config, "STATS_REFRESH_SECONDS", 0)
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", 0)
    app.extensions.pop("stats_public", None)


@pytest.fixture(scope="module")
def market_rows(shared_rows):
    """The market of the module's tests, built once (tests.plugin.SharedRows): each test reads
    it in a savepoint of its own."""

    def build():
        centers = add_centers()
        people = build_people(user_builder(), org_builder(centers), centers)
        market = build_market(
            people, task_builder(), bid_builder(), user_builder(), org_builder(centers)
        )
        return {"centers": centers, "people": people, "market": market}

    return shared_rows.build(build)


@pytest.fixture
def people(request, make_user, make_org, centers):
    """The people of the money tests (tests.plugin): the module's shared ones in a test of the
    market."""
    shared = shared_rows_of(request)
    if shared is not None and "people" in shared.built:
        return shared.rows("people")
    return build_people(make_user, make_org, centers)


@pytest.fixture
def market(market_rows, db):
    """The market of CONTRACTS (plus open, private and draft tasks, money and a dispute)."""
    return market_rows.rows("market")


def _date(task, published, bids_at=None):
    """Move a task (and its bids) to the past, as if it had been posted then."""
    task.published_at = published
    task.created_at = published
    db.session.execute(
        sa.update(Bid).where(Bid.task_id == task.id).values(created_at=bids_at or published)
    )


def build_market(people, make_task, make_bid, make_user, make_org):
    """The market of CONTRACTS (plus open, private and draft tasks, money and a dispute), each
    contract between the parties PARTIES names."""
    qingdao = people.centers["qingdao"]
    enterprises = {
        "A": (people.owner, people.enterprise),
        "Z": (people.zibo_owner, people.zibo_enterprise),
    }
    for letter, name, person, email in (
        ("B", "Qingdao Haixin Sensors", "Chen Jing", "chen.jing@haixin.example"),
        ("C", "Qingdao Beihai Valves", "Wu Hao", "wu.hao@beihai.example"),
    ):
        owner = make_user(name=person, email=email)
        enterprises[letter] = (owner, make_org(owner, name=name, center=qingdao))
    solvers = [people.solver] + [
        make_user(name=name, email=f"solver{i}@example.com")
        for i, name in enumerate(("Zhou Yan", "Sun Qiang", "He Ping"), start=1)
    ]
    contracts, owners = [], {}
    for index, ((year, month, kind, code, price), (letter, payee)) in enumerate(
        zip(CONTRACTS, PARTIES, strict=True)
    ):
        owner, organization = enterprises[letter]
        task = make_task(
            owner,
            organization,
            title=f"Market task {index}",
            contract_type=kind,
            center_id=people.centers[code].id,
        )
        extra = {}
        if payee == "institute":
            bidder = people.broker
            extra = dict(
                agency=people.agency, payee_organization=people.institute, brokerage_bps=1000
            )
        else:
            bidder = solvers[payee]
        first = price // 2
        due = (utcnow() + dt.timedelta(days=30)).date()
        bid = make_bid(
            bidder,
            task,
            price_fen=price,
            milestones=[("Design", first, due), ("Delivery", price - first, due)],
            **extra,
        )
        with transaction():
            task_services.close_bidding(owner, task)
            contract = offers.sign_both(owner, bid)
            signed = moment(year, month)
            contract.signed_at = signed
            _date(task, signed - dt.timedelta(days=3 + index % 10), signed - dt.timedelta(days=1))
        contracts.append(contract)
        owners[contract.id] = owner
    for index, code in enumerate(UNAWARDED_2025):
        zibo = code == "zibo"
        task = make_task(
            people.zibo_owner if zibo else people.owner,
            people.zibo_enterprise if zibo else people.enterprise,
            title=f"Unawarded task {index}",
            contract_type="consulting",
            center_id=people.centers[code].id,
        )
        with transaction():
            _date(task, moment(2025, 6 + index))
    open_task = make_task(
        people.zibo_owner,
        people.zibo_enterprise,
        title=OPEN_TASK_TITLE,
        contract_type="service",
        budget_min_fen=700_000,
        budget_max_fen=900_000,
    )
    make_bid(people.solver, open_task, price_fen=800_000)
    private_task = make_task(
        people.owner,
        people.enterprise,
        title=PRIVATE_TASK_TITLE,
        visibility="invite_only",
        invited_organizations=[people.agency],
    )
    draft = make_task(people.owner, people.enterprise, publish=False, title=DRAFT_TASK_TITLE)
    money = _move_money(people, contracts, owners)
    return SimpleNamespace(
        contracts=contracts,
        open_task=open_task,
        private_task=private_task,
        draft=draft,
        money=money,
    )


def _move_money(people, contracts, owners):
    """Fund and release both milestones of the agency's contract and the first milestone of
    a 2024 contract; fund one milestone of another and take it through a dispute whose ruling
    splits it. The dispute was opened six days ago."""
    manager = people.managers["shandong"]
    agency_contract = contracts[AGENCY_CONTRACT]
    for milestone in agency_contract.milestones:
        fund(milestone, people.owner, manager)
        deliver(people.broker, milestone)
        accept(people.owner, milestone)
    plain = contracts[0].milestones[0]
    fund(plain, people.owner, manager)
    deliver(people.solver, plain)
    accept(people.owner, plain)
    disputed = contracts[1].milestones[0]
    owner, solver = owners[contracts[1].id], contracts[1].solver
    fund(disputed, owner, manager, bank_reference="ICBC-0002")
    opened = utcnow() - dt.timedelta(days=6)
    with transaction():
        dispute = disputes.open_dispute(owner, disputed.id, "Not delivered.", now=opened)
    with transaction():
        disputes.respond(solver, dispute.id, "Half of it was.", now=opened)
    with transaction():
        disputes.take(manager, dispute.id)
    half = disputed.due_fen // 2
    with transaction():
        disputes.rule(manager, dispute.id, half, disputed.due_fen - half, "Half was delivered.")
    with transaction():
        disputes.waive_appeal(owner, dispute.id)
    with transaction():
        disputes.waive_appeal(solver, dispute.id)
    return SimpleNamespace(dispute=dispute, opened=opened)
