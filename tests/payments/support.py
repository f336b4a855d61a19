"""Helpers of the payments tests: the money steps as the services take them, the ledger's
balances and its check, reading what pages show, and card payments through the fake Stripe
(tests.payments.fake_stripe)."""

import csv
import io
import re
from decimal import Decimal
from html.parser import HTMLParser

import fakeredis
import sqlalchemy as sa
from flask import current_app
from rq import SimpleWorker

from crowdsource.contracts import workflow
from crowdsource.contracts.models import Contract
from crowdsource.db import db, transaction
from crowdsource.payments import funding as fundings
from crowdsource.payments.models import (
    JournalEntry,
    LedgerAccount,
    Posting,
    StripeAccount,
    StripeEvent,
)
from crowdsource.queue import all_queues
from tests.helpers import stored_counts as stored_counts  # the modules that import it here
from tests.payments import fake_stripe as stripe

#: bank details a payee types into the payout form
BANK = {
    "bank_account_name": "Qingdao University of Science",
    "bank_name": "Bank of China, Qingdao",
    "bank_account_number": "6217 0000 1111 2222",
}


def fund(milestone, owner, manager, bank_reference="ICBC-0001"):
    """The enterprise starts the funding and the manager records the transfer as received."""
    with transaction():
        started = fundings.start_funding(owner, milestone)
        fundings.confirm_bank_transfer(manager, started, started.amount_fen, bank_reference)
    return started


def deliver(user, milestone, note="The result is in the shared folder.", now=None):
    with transaction():
        workflow.submit_delivery(user, milestone.id, note, now=now)


def accept(user, milestone):
    with transaction():
        workflow.accept_delivery(user, milestone.id)


def reload(obj):
    """``obj`` as stored now."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def balances():
    """Every account's balance that is not zero, by code."""
    rows = db.session.execute(
        sa.select(LedgerAccount.code, LedgerAccount.balance).where(LedgerAccount.balance != 0)
    )
    return dict(rows.all())


def entry_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry))


def posting_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Posting))


def ledger_check(app):
    """``flask ledger check`` as run from a shell: (exit code, output)."""
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["ledger", "check"])
    return result.exit_code, result.output


def assert_ledger_check_passes(app):
    code, output = ledger_check(app)
    assert code == 0, output
    assert "Ledger check passed" in output


def page(response):
    return response.get_data(as_text=True)


def read_csv(response):
    """The rows of a CSV download; it starts with a UTF-8 byte order mark for spreadsheets."""
    assert response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def fen(text):
    """Fen of a yuan amount as pages and CSV files show it ("¥1,234.56" or "1234.56")."""
    return int(Decimal(text.replace("¥", "").replace(",", "")) * 100)


# --- reading pages -----------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Element:
    def __init__(self, tag, attrs):
        self.tag, self.attrs, self.children = tag, dict(attrs), []

    @property
    def text(self):
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return re.sub(r"\s+", " ", " ".join(parts)).strip()

    def find_all(self, tag=None, testid=None):
        found = []
        for child in self.children:
            if isinstance(child, Element):
                if (tag is None or child.tag == tag) and (
                    testid is None or child.attrs.get("data-testid") == testid
                ):
                    found.append(child)
                found += child.find_all(tag, testid)
        return found

    def cells(self):
        """The texts of a table row's cells."""
        return [cell.text for cell in self.find_all() if cell.tag in ("td", "th")]


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.root = Element("root", [])
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        element = Element(tag, attrs)
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(response_or_text):
    """The page as a tree of elements (``find_all(tag, testid)``, ``text``, ``cells()``)."""
    text = response_or_text if isinstance(response_or_text, str) else page(response_or_text)
    builder = _TreeBuilder()
    builder.feed(text)
    return builder.root


def texts(response, testid):
    """The texts of the elements marked ``data-testid=testid``."""
    return [element.text for element in parse(response).find_all(testid=testid)]


# --- card payments through the fake Stripe ---------------------------------------------


def milestone_of(contract):
    """The one milestone of a contract."""
    (milestone,) = db.session.get(Contract, contract.id).milestones
    return milestone


def received(client, evt, **signing):
    """Stripe delivers ``evt`` to the webhook; it must be accepted."""
    response = stripe.post_event(client, evt, **signing)
    assert response.status_code == 200, page(response)
    return response.get_json()


def start_card_payment(client, login, owner, milestone, fake):
    """The enterprise chooses to pay by card; returns the Checkout Session's id."""
    login(owner)
    response = client.post(f"/milestones/{milestone.id}/fund/card")
    assert response.status_code == 302, page(response)
    location = response.headers["Location"]
    assert location.startswith(f"{fake.url}/pay/cs_test_"), location
    return location.rsplit("/", 1)[1]


def pay_by_card(client, login, people, milestone, fake):
    """The milestone paid by card and Stripe's checkout.session.completed delivered; returns
    Stripe's (session, payment intent, charge)."""
    session_id = start_card_payment(client, login, people.owner, milestone, fake)
    paid = fake.pay(session_id)
    received(client, stripe.checkout_session_completed(paid[0]))
    return paid


def connect_stripe(client, login, user, fake, organization=None):
    """The user connects a Stripe account (their own, or ``organization``'s) and Stripe reports
    it can receive payouts (with RQ on, that event waits in the queue: see drain_queue)."""
    login(user)
    kind, owner = ("organization", organization) if organization else ("user", user)
    response = client.post(f"/payments/stripe/connect/{kind}/{owner.id}")
    assert response.status_code == 302, page(response)
    account = db.session.scalar(sa.select(StripeAccount).filter_by(**{f"{kind}_id": owner.id}))
    received(client, stripe.account_updated(fake.accounts[account.account_id]))
    return account


def released_and_connected(client, login, people, contract, fake):
    """The milestone paid by card, delivered and accepted; the solver's Stripe account ready
    (with RQ on, the events' jobs are run here, in this process)."""
    milestone = milestone_of(contract)
    pay_by_card(client, login, people, milestone, fake)
    drain_queue()
    deliver(people.solver, milestone)
    accept(people.owner, milestone)
    account = connect_stripe(client, login, people.solver, fake)
    drain_queue()
    return account


def drain_queue():
    """Run the jobs waiting in the app's RQ queue, if jobs go to RQ."""
    if current_app.config.get("REDIS_URL"):
        run_jobs(all_queues())


def entries(kind):
    """How many journal entries of ``kind`` the ledger holds."""
    return db.session.scalar(
        sa.select(sa.func.count(JournalEntry.id)).where(JournalEntry.kind == kind)
    )


def events():
    db.session.expire_all()
    return db.session.scalars(sa.select(StripeEvent).order_by(StripeEvent.id)).all()


def the(model):
    """The one row of ``model``, as stored now."""
    db.session.expire_all()
    return db.session.scalars(sa.select(model)).one()


def fake_queue(rq_app):
    """The app's jobs go to a fakeredis queue (run them with run_jobs)."""
    return rq_app("redis://fake", fakeredis.FakeStrictRedis())


def run_jobs(queues):
    """Run the queues' jobs in this process (a SimpleWorker in burst mode)."""
    lanes = list(queues)
    SimpleWorker(lanes, connection=lanes[0].connection).work(burst=True)
    db.session.expire_all()


def jobs_of(queue, path):
    """The queued jobs running the job function ``path``."""
    return [job for job in queue.jobs if job.args and job.args[0] == path]
