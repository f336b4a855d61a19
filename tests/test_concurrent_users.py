"""The embedded default (SQLite in WAL mode, jobs inline) serves users who act at the same
moment: 50 signed-in people, released together, ask questions, bid and accept deliveries (money
moves) over a real threaded HTTP server, with page reads in between, and none of them gets an
error page — nor is anything stored twice or lost.

SQLite only: on PostgreSQL writers wait for row locks anyway (tests/*/test_concurrency.py).
"""

import datetime as dt
import http.client
import logging
import re
import sqlite3
import threading
from http.cookies import SimpleCookie
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from crowdsource import create_app
from crowdsource.accounts import centers as center_services
from crowdsource.accounts import credit_code, orgs, services, verification
from crowdsource.bids import offers
from crowdsource.bids import services as bid_services
from crowdsource.bids.models import Bid
from crowdsource.contracts import workflow
from crowdsource.contracts.models import Milestone, MilestoneStatus
from crowdsource.db import db, transaction, utcnow
from crowdsource.lifecycle import SYSTEM
from crowdsource.payments import funding as fundings
from crowdsource.tasks import services as task_services
from crowdsource.tasks.models import Question
from tests.helpers import BUILT_VERIFIED, PASSWORD, task_details
from tests.plugin import app_config

#: other threads or processes must see what the test commits
pytestmark = pytest.mark.committing

ENTERPRISES = 9  # each accepts the delivered milestone of its own contract
SOLVERS = 40  # each asks a question on the open task and bids on it
DASHBOARD_READS = 5  # by the center manager: each GET refreshes this month's figures (writes)
WAIT = 60  # seconds: the bound of every wait
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def embedded_app(tmp_path):
    """The app as `make run` serves it: a SQLite file (WAL, busy timeout), inline jobs, the
    sweep on access and statistics refreshed by the GET requests that read them."""
    config = app_config(
        f"sqlite:///{tmp_path}/crowdsource.db",
        SWEEP_ON_ACCESS_SECONDS=1,
        STATS_REFRESH_SECONDS=0,
    )
    app = create_app(config)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def server(embedded_app):
    """The app on a threaded HTTP server on a free local port; yields the port."""
    http_server = make_server("127.0.0.1", 0, embedded_app, threaded=True)
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    yield http_server.server_port
    http_server.shutdown()
    thread.join(timeout=WAIT)


def _delivered_milestone(owner, organization, center, contractor, manager, number):
    """A contract of ``organization`` with ``contractor`` whose first milestone is funded and
    delivered, waiting for the enterprise to accept it."""
    due = (utcnow() + dt.timedelta(days=30)).date()
    with transaction():
        task = task_services.create_task(
            owner, organization, task_details(center.id, title=f"Awarded task {number}")
        )
        task_services.publish_task(owner, task)
    details = bid_services.BidDetails(
        price_fen=1_000_000,
        duration_days=30,
        proposal="We have done this before.",
        milestones=[bid_services.ProposedMilestone("Prototype", 1_000_000, due)],
    )
    with transaction():
        bid = bid_services.place_bid(contractor, task, details)
    with transaction():
        task_services.close_bidding(owner, task)
        contract = offers.sign_both(owner, bid)
    milestone = contract.milestones[0]
    with transaction():
        started = fundings.start_funding(owner, milestone)
        fundings.confirm_bank_transfer(manager, started, started.amount_fen, f"ICBC-{number}")
    with transaction():
        workflow.submit_delivery(contractor, milestone.id, "The prototype is in the shared folder.")
    return milestone.id


def build_market(app):
    """Enterprises with a delivered milestone each, an open task and the solvers; the e-mails
    of the people who will act and what they act on."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        with transaction():
            shandong = center_services.add_center("shandong", "山东省", "Shandong", "province")
            qingdao = center_services.add_center("qingdao", "青岛市", "Qingdao", "city", shandong)
        with transaction():
            manager = services.register_user(
                "manager@centers.example", PASSWORD, "Manager", "en", email_verified_at=utcnow()
            )
            center_services.make_manager(manager, shandong)
        owners, milestones = [], []
        for number in range(ENTERPRISES):
            with transaction():
                owner = services.register_user(
                    f"owner{number}@enterprise.example",
                    PASSWORD,
                    f"Owner {number}",
                    "en",
                    email_verified_at=utcnow(),
                )
                contractor = services.register_user(
                    f"contractor{number}@example.com",
                    PASSWORD,
                    f"Contractor {number}",
                    "en",
                    email_verified_at=utcnow(),
                )
                code = f"91370200{number:09d}"
                organization = orgs.create_organization(
                    owner,
                    f"Enterprise {number}",
                    "enterprise",
                    None,
                    code + credit_code.check_character(code),
                    qingdao.id,
                )
                verification.vouch(SYSTEM, organization, BUILT_VERIFIED)
                verification.vouch(SYSTEM, contractor, BUILT_VERIFIED)
            milestones.append(
                _delivered_milestone(owner, organization, qingdao, contractor, manager, number)
            )
            owners.append(owner.email)
            if number == 0:
                with transaction():
                    open_task = task_services.create_task(
                        owner, organization, task_details(qingdao.id)
                    )
                    task_services.publish_task(owner, open_task)
        solvers = []
        for number in range(SOLVERS):
            with transaction():
                solvers.append(
                    services.register_user(
                        f"solver{number}@example.com",
                        PASSWORD,
                        f"Solver {number}",
                        "en",
                        email_verified_at=utcnow(),
                    ).email
                )
        return SimpleNamespace(
            manager=manager.email,
            owners=owners,
            milestones=milestones,
            solvers=solvers,
            task_id=open_task.id,
        )


class Visitor:
    """One person's browser: a cookie jar and plain HTTP requests, redirects not followed."""

    def __init__(self, port):
        self.port = port
        self.cookies = {}
        #: (method, path, status) of every request
        self.log = []

    def request(self, method, path, fields=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)
        headers = {"Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if fields is not None:
            body = urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        self.log.append((method, path, response.status))
        return response.status, text

    def get(self, path):
        status, text = self.request("GET", path)
        found = CSRF.search(text)
        self.csrf_token = found.group(1) if found else None
        return status

    def post(self, path, **fields):
        """A form sent with the CSRF token of the last page read."""
        return self.request("POST", path, {"csrf_token": self.csrf_token, **fields})[0]

    def log_in(self, email):
        self.get("/login")
        assert self.post("/login", email=email, password=PASSWORD) == 302, f"{email} not in"


def ask_and_bid(visitor, task_id, number):
    """A solver reads the list and the task, asks a question, and bids."""
    visitor.get("/tasks")
    visitor.get(f"/tasks/{task_id}")
    asked = visitor.post(f"/tasks/{task_id}/questions", body=f"Question {number}: which line?")
    visitor.get("/statistics")
    visitor.get(f"/tasks/{task_id}/bid")
    due = (utcnow() + dt.timedelta(days=30)).date().isoformat()
    bid = visitor.post(
        f"/tasks/{task_id}/bid",
        **{
            "bid_as": "",
            "payee_organization_id": "",
            "brokerage": "",
            "price": "60000",
            "duration_days": "45",
            "proposal": f"Proposal {number}",
            "milestones-0-title": "Prototype",
            "milestones-0-amount": "60000",
            "milestones-0-due_date": due,
        },
    )
    visitor.get("/bids/mine")
    return {"question": asked, "bid": bid}


def accept(visitor, milestone_id, contract_id):
    """An enterprise owner reads the contract, accepts its delivered milestone, reads again."""
    visitor.get(f"/contracts/{contract_id}")
    accepted = visitor.post(f"/milestones/{milestone_id}/accept")
    visitor.get("/statistics")
    visitor.get(f"/contracts/{contract_id}")
    return {"accept": accepted}


def read_dashboard(visitor):
    """The center manager reads the dashboard again and again."""
    return {"dashboard": [visitor.get("/statistics/dashboard") for _ in range(DASHBOARD_READS)]}


def all_at_once(actions):
    """Run each of ``actions`` in a thread of its own, released together by a barrier;
    returns what each returned or raised."""
    barrier = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def run(number, action):
        try:
            barrier.wait(timeout=WAIT)
            outcomes[number] = action()
        except Exception as error:  # shown by the assertion below
            outcomes[number] = error

    threads = [threading.Thread(target=run, args=pair, daemon=True) for pair in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT)
    assert not any(thread.is_alive() for thread in threads), "a user is still waiting"
    return outcomes


def test_fifty_users_acting_at_once_on_sqlite_all_get_answers(embedded_app, server, caplog):
    market = build_market(embedded_app)
    with embedded_app.app_context():
        contract_ids = [db.session.get(Milestone, m).contract_id for m in market.milestones]
    manager = Visitor(server)
    owners = [Visitor(server) for _ in market.owners]
    solvers = [Visitor(server) for _ in market.solvers]
    everybody = [manager, *owners, *solvers]
    for visitor, email in zip(
        everybody, [market.manager, *market.owners, *market.solvers], strict=True
    ):
        visitor.log_in(email)

    actions = (
        [lambda: read_dashboard(manager)]
        + [
            (lambda v=v, m=m, c=c: accept(v, m, c))
            for v, m, c in zip(owners, market.milestones, contract_ids, strict=True)
        ]
        + [(lambda v=v, n=n: ask_and_bid(v, market.task_id, n)) for n, v in enumerate(solvers)]
    )
    caplog.set_level(logging.WARNING)
    outcomes = all_at_once(actions)

    errors = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert errors == []
    failed = [entry for v in everybody for entry in v.log if entry[2] >= 500]
    assert failed == [], f"{len(failed)} error pages, e.g. {failed[:5]}"
    # The GET requests that write (the sweep on access, the statistics they refresh) waited
    # for the lock too, instead of giving up on "database is locked".
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == []

    def succeeded(kind):
        return sum(1 for outcome in outcomes if outcome.get(kind) == 302)

    with embedded_app.app_context():
        questions = db.session.scalar(sa.select(sa.func.count(Question.id)))
        bids = db.session.scalar(
            sa.select(sa.func.count(Bid.id)).where(Bid.task_id == market.task_id)
        )
        released = db.session.scalar(
            sa.select(sa.func.count(Milestone.id)).where(
                Milestone.id.in_(market.milestones), Milestone.status == MilestoneStatus.RELEASED
            )
        )
    assert questions == succeeded("question") == SOLVERS
    assert bids == succeeded("bid") == SOLVERS
    assert released == succeeded("accept") == ENTERPRISES
    assert outcomes[0]["dashboard"] == [200] * DASHBOARD_READS

    result = embedded_app.test_cli_runner().invoke(args=["ledger", "check"])
    assert result.exit_code == 0, result.output
    assert "Ledger check passed" in result.output


def _other_writer_gets_the_lock(app):
    """True when another connection can take the write lock at once (no busy wait)."""
    path = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_request_holds_the_write_lock_for_its_action_only(embedded_app, method):
    """What a request reads before and after its ``with transaction():`` block (loading and
    checking, the page it renders, a call to Stripe) leaves other writers free; the block
    itself holds the write lock from its start."""
    build_market(embedded_app)
    with embedded_app.test_request_context("/tasks/1/questions", method=method):
        db.session.scalar(sa.select(sa.func.count(Question.id)))
        assert _other_writer_gets_the_lock(embedded_app)
        with transaction():
            db.session.scalar(sa.select(sa.func.count(Question.id)))
            assert not _other_writer_gets_the_lock(embedded_app)
        db.session.scalar(sa.select(sa.func.count(Question.id)))
        assert _other_writer_gets_the_lock(embedded_app)
        db.session.remove()
