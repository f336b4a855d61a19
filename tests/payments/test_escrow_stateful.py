"""Random sequences of escrow operations keep every money invariant (Hypothesis, SQLite).

A rule-based state machine awards two or three contracts of one to three milestones — one to
an individual solver, one to an agency for an institution with brokerage — each under its own
random commission policy, then runs random sequences of funding (start + a manager's
confirmation of the bank transfer), delivery, acceptance, requests for changes, mutual
cancellation (refund), the automatic release after the review period, and payouts, including
attempts that must be refused (an unfunded milestone accepted, a transfer confirmed twice, a
second acceptance, the wrong side acting, …): a refused attempt raises a DomainError of the
expected kind and changes nothing.

The machine keeps its own model of every milestone, contract, funding, payout and ledger
balance (fees by commission.split); after every step the ledger must equal the model and the
ledger's and escrow's own checks must pass.

It runs on a SQLite database of its own (500 sequences are too many for PostgreSQL; the row
locks are tested in test_concurrency.py): each sequence starts from an empty database.
"""

import dataclasses
import datetime as dt
import functools

import pytest
import sqlalchemy as sa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from werkzeug.security import generate_password_hash

from crowdsource import create_app
from crowdsource.accounts import centers as center_services
from crowdsource.accounts import orgs
from crowdsource.accounts.models import User
from crowdsource.bids import offers
from crowdsource.bids import services as bids
from crowdsource.contracts import workflow
from crowdsource.contracts.models import Contract, Milestone
from crowdsource.db import db, transaction, utcnow
from crowdsource.errors import AlreadyDone, Conflict, DomainError, IllegalTransition, NotAllowed
from crowdsource.payments import commission, escrow, ledger, payouts, policy, reconcile
from crowdsource.payments import funding as fundings
from crowdsource.payments.models import Funding, Payout
from crowdsource.tasks import services as tasks
from crowdsource.tasks.models import (
    BidMode,
    ContractType,
    IPTerms,
    Task,
    TaskStatus,
    Visibility,
)
from tests.helpers import CREDIT_CODES, PASSWORD, examples
from tests.plugin import app_config, clear_database

PASSWORD_HASH = generate_password_hash(PASSWORD, "scrypt:128:8:1")


def runs():
    """A fifth of the examples of the ``default`` Hypothesis profile and half of ``deep``'s,
    each a sequence of the profile's ``stateful_step_count`` steps: 20 × 30 in ``make test``,
    500 × 50 in ``.ci/run`` (tests/plugin.py). The profile also lifts the deadline and the
    health checks a slow machine trips."""
    return settings(max_examples=examples(0.2, deep_share=0.5))


#: statuses in the model (plain strings, compared with the stored enums' values)
ESCROWED = ("funded", "submitted")
SETTLED = ("released", "refunded", "cancelled")
OTHER_SIDE = {"client": "solver", "solver": "client"}
ROLES = ("payee", "agency", "client")
#: an index strategy for picking among the milestones, contracts, fundings and payouts
PICK = st.integers(min_value=0, max_value=11)
#: True: pick among the objects the step should succeed on (when there are); False: any object
AIM = st.booleans()
#: a variant of the step: the amount received, the side, the role, the days that pass, …
OPTION = st.integers(min_value=0, max_value=20)
SIDES = ("client", "solver")
#: what a step does; the steps that move money on come more often than the others
ACTION = st.sampled_from(
    # First, as Hypothesis's simplest choice: a sequence of nothing but "advance" is a whole
    # happy story (fund, deliver, accept or wait, pay out) of every contract.
    ["advance"] * 3
    + ["wait and sweep"] * 2
    + ["fund"] * 3
    + ["deliver"] * 3
    + ["accept"] * 2
    + ["payout"] * 2
    + ["wrong person"] * 2
    + [
        "request changes",
        "start funding",
        "confirm transfer",
        "refund",
        "propose cancellation",
        "agree to cancellation",
        "withdraw cancellation",
        "request payout",
        "send payout",
        "cancel payout",
    ]
)


# --- the plan of the contracts -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Plan:
    """A contract to award: who bids, the policy in force at the award, the milestones."""

    kind: str  # "individual" or "agency"
    commission_bps: int
    client_fee_bps: int
    center_share_bps: int
    max_brokerage_bps: int
    brokerage_bps: int
    amounts: tuple


AMOUNTS = st.one_of(st.integers(min_value=1, max_value=200), st.integers(1, 10**10))


@st.composite
def plans(draw, kind):
    commission_bps = draw(st.integers(0, 5000))
    agency = kind == "agency"
    center_share_bps = draw(st.integers(0, min(5000, 10_000 - commission_bps - agency)))
    room = min(5000, 10_000 - commission_bps - center_share_bps)
    max_brokerage_bps = draw(st.integers(1 if agency else 0, room))
    return Plan(
        kind=kind,
        commission_bps=commission_bps,
        client_fee_bps=draw(st.integers(0, 5000)),
        center_share_bps=center_share_bps,
        max_brokerage_bps=max_brokerage_bps,
        brokerage_bps=draw(st.integers(1, max_brokerage_bps)) if agency else 0,
        amounts=tuple(draw(st.lists(AMOUNTS, min_size=1, max_size=3))),
    )


CONTRACT_PLANS = st.tuples(
    plans("individual"),
    plans("agency"),
    st.one_of(st.none(), st.sampled_from(["individual", "agency"]).flatmap(plans)),
).map(lambda drawn: [plan for plan in drawn if plan is not None])


# --- the model ---------------------------------------------------------------------------


@dataclasses.dataclass
class ContractModel:
    id: int
    plan: Plan
    rates: commission.Rates
    #: who acts for each side: the enterprise's owner, the solver (or the agency's broker)
    actors: dict
    #: who may draw on each payable: payee, agency (None: no agency), client
    drawers: dict
    status: str = "active"
    cancel_requested_by: str | None = None
    milestones: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class MilestoneModel:
    id: int
    contract: ContractModel
    position: int
    amount: int
    due: int
    status: str = "pending"
    review_due_at: dt.datetime | None = None


@dataclasses.dataclass
class FundingModel:
    id: int
    milestone: MilestoneModel
    status: str = "pending"


@dataclasses.dataclass
class PayoutModel:
    id: int
    contract: ContractModel
    role: str
    amount: int
    status: str = "requested"


def escrow_code(milestone):
    return f"escrow:milestone:{milestone.id}"


def payable_code(contract, role):
    return f"payable:contract:{contract.id}:{role}"


def pick(items, index):
    return items[index % len(items)]


def choose(items, index, aim, fits):
    """With ``aim``, one of the items that ``fits`` (if any); otherwise any item."""
    fitting = [item for item in items if fits(item)] if aim else []
    return pick(fitting or items, index)


@functools.cache
def _count_rows_sql():
    counts = ", ".join(
        f'(SELECT count(*) FROM "{table.name}") AS "{table.name}"'
        for table in db.metadata.sorted_tables
    )
    return sa.text(f"SELECT {counts}")


def row_counts():
    """Rows per table, in one query."""
    return dict(db.session.execute(_count_rows_sql()).one()._mapping)


# Plain SQL, not the ORM, for what is read after every step: 15,000 steps add up.
BALANCES = sa.text("SELECT code, balance FROM ledger_accounts")
STATES = sa.text(
    """
    SELECT 'milestone', id, status, NULL FROM milestones
    UNION ALL SELECT 'contract', id, status, cancel_requested_by FROM contracts
    UNION ALL SELECT 'funding', id, status, NULL FROM fundings
    UNION ALL SELECT 'payout', id, status, amount_fen FROM payouts
    UNION ALL SELECT 'entries', NULL, kind, count(*) FROM journal_entries GROUP BY kind
    """
)


def stored_balances():
    return dict(db.session.execute(BALANCES).all())


def stored_states():
    """(what, id, status, detail) of every milestone, contract, funding and payout, and the
    number of journal entries of each kind."""
    return {tuple(row) for row in db.session.execute(STATES)}


class EscrowMachine(RuleBasedStateMachine):
    def __init__(self, app):
        super().__init__()
        self.app = app
        clear_database(app)
        self.context = app.test_request_context(headers={"Accept-Language": "en"})
        self.context.push()
        self.users = {}
        self.contracts = []
        self.milestones = []
        self.fundings = []
        self.payouts = []
        #: the ledger balances the model expects, by account code
        self.expected = {}
        self.entries = {"fund": 0, "release": 0, "refund": 0, "payout": 0}
        self.now = None
        #: what was stored after the last refused attempt (None: something was done since)
        self.stored = None

    def teardown(self):
        # Every entry of the run matches its business event (checked once per run: the
        # reconciliation reads the whole ledger, the invariant below runs after every step).
        try:
            assert reconcile.check() == []
        finally:
            db.session.remove()
            self.context.pop()

    # --- setting up: people, organizations, the awarded contracts ---------------------------

    def _user(self, name, is_admin=False):
        # Stored directly: registering (and hashing a password) 3,500 times would take a while,
        # and nobody logs in here. No e-mail either: this test is about money.
        user = User(
            email=f"{name}@example.com",
            password_hash=PASSWORD_HASH,
            display_name=name.title(),
            locale="en",
            skills=[],
            email_notifications=False,
            email_verified_at=utcnow(),
            real_name_verified_at=utcnow(),
            is_admin=is_admin,
        )
        db.session.add(user)
        self.users[name] = user
        return user

    @initialize(contract_plans=CONTRACT_PLANS)
    def award_contracts(self, contract_plans):
        self.now = utcnow()
        with transaction():
            center = center_services.add_center("shandong", "山东省", "Shandong", "province")
            owner, admin = self._user("owner"), self._user("admin", is_admin=True)
            manager, solver = self._user("manager"), self._user("solver")
            broker, professor = self._user("broker"), self._user("professor")
            self._user("outsider")
            center_services.make_manager(manager, center)
            codes = iter(CREDIT_CODES)
            enterprise = orgs.create_organization(
                owner, "Haian Robotics", "enterprise", None, next(codes), center.id
            )
            agency = orgs.create_organization(
                broker, "Agency", "agency", "private", next(codes), center.id
            )
            institute = orgs.create_organization(
                professor, "Institute", "institution", "university", next(codes), center.id
            )
            for organization in (enterprise, agency, institute):
                organization.real_name_verified_at = utcnow()  # stored directly, as the users
            for number, plan in enumerate(contract_plans):
                policy.set_policy(
                    admin,
                    None,
                    None,
                    plan.commission_bps,
                    plan.client_fee_bps,
                    plan.center_share_bps,
                    plan.max_brokerage_bps,
                )
                task = self._task(owner, enterprise, number)
                if plan.kind == "agency":
                    extra = dict(
                        agency=agency,
                        payee_organization=institute,
                        brokerage_bps=plan.brokerage_bps,
                    )
                    bidder = broker
                else:
                    extra, bidder = {}, solver
                bid = bids.place_bid(bidder, task, self._bid(plan, extra))
                tasks.close_bidding(owner, task)
                contract = offers.sign_both(owner, bid)
                self._remember(contract, plan, bidder)
            center_id = center.id
        # Set after the last award: the policy in force later changes no signed contract.
        with transaction():
            policy.set_policy(admin, None, None, 5000, 5000, 0, 5000)
        self.center_revenue = f"revenue:center:{center_id}"

    def _task(self, owner, enterprise, number):
        """An open task, stored directly (the tasks' own tests publish tasks; here they are only
        the way to a contract)."""
        task = Task(
            organization=enterprise,
            created_by=owner,
            center_id=enterprise.center_id,
            title=f"Machine-vision inspection {number}",
            summary="Detect solder defects on our SMT line.",
            description="We need a **vision system** that finds solder defects.",
            contract_type=ContractType.DEVELOPMENT,
            fields=[],
            skills=[],
            budget_min_fen=1,
            budget_max_fen=10**11,
            bid_deadline=self.now + dt.timedelta(days=10),
            delivery_date=(self.now + dt.timedelta(days=60)).date(),
            visibility=Visibility.PUBLIC,
            bid_mode=BidMode.SEALED,
            ip_terms=IPTerms.ASSIGNED,
            nda_required=False,
            status=TaskStatus.OPEN,
            published_at=self.now,
        )
        db.session.add(task)
        db.session.flush()
        return task

    def _bid(self, plan, extra):
        due = (self.now + dt.timedelta(days=30)).date()
        return bids.BidDetails(
            price_fen=sum(plan.amounts),
            duration_days=45,
            proposal="We have built **three** such systems.",
            milestones=[
                bids.ProposedMilestone(f"Step {n}", amount, due)
                for n, amount in enumerate(plan.amounts, start=1)
            ],
            **extra,
        )

    def _remember(self, contract, plan, bidder):
        rates = commission.Rates(
            commission_bps=plan.commission_bps,
            brokerage_bps=plan.brokerage_bps,
            center_share_bps=plan.center_share_bps,
            client_fee_bps=plan.client_fee_bps,
        )
        assert contract.rates == rates, "the award copies the policy in force"
        users = self.users
        model = ContractModel(
            id=contract.id,
            plan=plan,
            rates=rates,
            actors={"client": users["owner"], "solver": bidder},
            drawers={
                "payee": users["professor"] if plan.kind == "agency" else users["solver"],
                "agency": users["broker"] if plan.kind == "agency" else None,
                "client": users["owner"],
            },
        )
        for milestone, amount in zip(contract.milestones, plan.amounts, strict=True):
            assert milestone.amount_fen == amount
            model.milestones.append(
                MilestoneModel(
                    id=milestone.id,
                    contract=model,
                    position=milestone.position,
                    amount=amount,
                    due=commission.amount_due(amount, rates),
                )
            )
        self.contracts.append(model)
        self.milestones += model.milestones

    # --- running one attempt ------------------------------------------------------------

    def _snapshot(self):
        counts = row_counts()
        # On SQLite a refused attempt may leave an empty ledger account behind: pysqlite opens no
        # transaction before a SAVEPOINT, so releasing ledger.account()'s savepoint commits the
        # new account at once. It holds nothing; balances and entries are compared below.
        del counts["ledger_accounts"]
        balances = {code: balance for code, balance in stored_balances().items() if balance}
        return counts, balances, stored_states()

    def attempt(self, refusal, action):
        """Run ``action`` as one transaction. With ``refusal`` None it must succeed (returns what
        it returned); otherwise it must raise exactly that DomainError and change nothing."""
        if refusal is None:
            self.stored = None
            with transaction():
                return action()
        before = self.stored or self._snapshot()
        with pytest.raises(DomainError) as caught, transaction():
            action()
        error = caught.value
        assert type(error) is refusal, f"expected {refusal.__name__}, got {error!r}"
        assert str(error.message) and 400 <= error.status_code < 500
        self.stored = self._snapshot()
        assert self.stored == before, "a refused attempt changed something"
        return None

    def _move(self, code, amount):
        self.expected[code] = self.expected.get(code, 0) + amount

    # --- the model's transitions ----------------------------------------------------------

    def _released(self, milestone):
        contract = milestone.contract
        parts = commission.split(milestone.amount, contract.rates)
        assert parts.payee + parts.brokerage + parts.commission + parts.center_share == (
            milestone.amount
        )
        self._move(escrow_code(milestone), -milestone.due)
        self._move(payable_code(contract, "payee"), parts.payee)
        self._move(payable_code(contract, "agency"), parts.brokerage)
        self._move(escrow.COMMISSION_REVENUE, parts.commission)
        self._move(escrow.CLIENT_FEE_REVENUE, milestone.due - milestone.amount)
        self._move(self.center_revenue, parts.center_share)
        milestone.status = "released"
        milestone.review_due_at = None
        self.entries["release"] += 1
        if contract.status == "active" and all(m.status in SETTLED for m in contract.milestones):
            contract.status = "completed"

    def _cancelled(self, contract):
        for milestone in contract.milestones:
            if milestone.status == "pending":
                milestone.status = "cancelled"
            elif milestone.status in ESCROWED:
                self._move(escrow_code(milestone), -milestone.due)
                self._move(payable_code(contract, "client"), milestone.due)
                milestone.status = "refunded"
                milestone.review_due_at = None
                self.entries["refund"] += 1
        for funding in self.fundings:
            if funding.milestone.contract is contract and funding.status == "pending":
                funding.status = "cancelled"
        contract.status = "cancelled"

    # --- one step -------------------------------------------------------------------------

    @rule(action=ACTION, index=PICK, aim=AIM, option=OPTION)
    def step(self, action, index, aim, option):
        """One step of the story (one rule, not one per action: Hypothesis would switch whole
        actions off for some sequences, and too few would then get as far as a payout).

        ``index`` picks the milestone, contract, funding or payout the step acts on; with
        ``aim`` it is picked among those the step should succeed on, if any; ``option`` picks a
        variant: the amount received, the side that acts, the payable drawn on, the days that
        pass, the wrong person.
        """
        getattr(self, action.replace(" ", "_"))(index, aim, option)

    # --- the happy path -----------------------------------------------------------------

    def advance(self, index, aim, option):
        """The next step of a contract's happy story, starting with the ``index``th contract
        that has one: a manager confirms its open funding, or the enterprise funds the next
        milestone, or the solver delivers, or the enterprise accepts (odd ``option``: does
        nothing until the review period ends), or a payee draws its balance."""
        count = len(self.contracts)
        for contract in (self.contracts[(index + k) % count] for k in range(count)):
            if self._advance(contract, option):
                return
        self._sweep(days=option)

    def _advance(self, contract, option):
        for funding in self.fundings:
            if funding.milestone.contract is contract and funding.status == "pending":
                self._confirm(funding, funding.milestone.due)
                return True
        for milestone in contract.milestones:
            if milestone.status == "submitted":
                if option % 2:
                    self._sweep(days=self.app.config["REVIEW_PERIOD_DAYS"] + option // 4)
                else:
                    self._accept(milestone)
                return True
            if milestone.status == "funded":
                self._deliver(milestone)
                return True
            if self._fundable(milestone):
                self._fund(milestone)
                return True
        open_payouts = {(p.contract.id, p.role) for p in self._open_payouts()}
        for role in ROLES:
            if (
                self.expected.get(payable_code(contract, role), 0) > 0
                and (contract.id, role) not in open_payouts
            ):
                payout = self._request_payout(contract, role)
                self._send_payout(payout)
                return True
        return False

    # --- funding --------------------------------------------------------------------------

    def _start_refusal(self, milestone):
        contract = milestone.contract
        if contract.status != "active":
            return Conflict
        if milestone.status != "pending":
            return AlreadyDone
        if any(m.status == "pending" for m in contract.milestones[: milestone.position - 1]):
            return Conflict
        return None

    def _start(self, milestone):
        owner = self.users["owner"]
        started = self.attempt(
            self._start_refusal(milestone),
            lambda: fundings.start_funding(owner, db.session.get(Milestone, milestone.id)),
        )
        if started is None:
            return None
        assert started.amount_fen == milestone.due
        existing = [f for f in self.fundings if f.milestone is milestone and f.status == "pending"]
        if existing:
            assert [started.id] == [f.id for f in existing], "the open funding is reused"
            return existing[0]
        model = FundingModel(started.id, milestone)
        self.fundings.append(model)
        return model

    def _confirm(self, funding, amount):
        if funding.status == "confirmed":
            refusal = AlreadyDone
        elif funding.status == "cancelled":
            refusal = Conflict
        else:
            refusal = None if amount == funding.milestone.due else DomainError
        manager = self.users["manager"]
        self.attempt(
            refusal,
            lambda: fundings.confirm_bank_transfer(
                manager, db.session.get(Funding, funding.id), amount, "ICBC-1", now=self.now
            ),
        )
        if refusal is None:
            funding.status = "confirmed"
            milestone = funding.milestone
            milestone.status = "funded"
            self._move("clearing:bank", -milestone.due)
            self._move(escrow_code(milestone), milestone.due)
            self.entries["fund"] += 1

    def _fundable(self, milestone):
        return self._start_refusal(milestone) is None

    def fund(self, index, aim, option):
        """The enterprise starts paying a milestone and a manager confirms the transfer."""
        self._fund(choose(self.milestones, index, aim, self._fundable))

    def _fund(self, milestone):
        funding = self._start(milestone)
        if funding is not None:
            self._confirm(funding, funding.milestone.due)

    def start_funding(self, index, aim, option):
        self._start(choose(self.milestones, index, aim, self._fundable))

    def confirm_transfer(self, index, aim, option):
        """A manager confirms a transfer: perhaps a second time, perhaps of a cancelled
        funding, perhaps for the wrong amount."""
        if not self.fundings:
            return
        funding = choose(self.fundings, index, aim, lambda f: f.status == "pending")
        milestone = funding.milestone
        received = [
            milestone.due,
            milestone.due - 1,
            milestone.due + 1,
            milestone.amount,
            0,
        ][option % 5]
        self._confirm(funding, received)

    # --- delivery, review, the automatic release -------------------------------------------

    def deliver(self, index, aim, option):
        self._deliver(choose(self.milestones, index, aim, lambda m: m.status == "funded"))

    def _deliver(self, milestone):
        refusal = {"funded": None, "submitted": AlreadyDone}.get(milestone.status, Conflict)
        actor = milestone.contract.actors["solver"]
        self.attempt(
            refusal, lambda: workflow.submit_delivery(actor, milestone.id, "Done", now=self.now)
        )
        if refusal is None:
            milestone.status = "submitted"
            milestone.review_due_at = self.now + dt.timedelta(
                days=self.app.config["REVIEW_PERIOD_DAYS"]
            )

    def accept(self, index, aim, option):
        self._accept(choose(self.milestones, index, aim, lambda m: m.status == "submitted"))

    def _accept(self, milestone):
        refusal = {"submitted": None, "released": AlreadyDone}.get(milestone.status, Conflict)
        actor = milestone.contract.actors["client"]
        self.attempt(refusal, lambda: workflow.accept_delivery(actor, milestone.id, now=self.now))
        if refusal is None:
            self._released(milestone)

    def request_changes(self, index, aim, option):
        milestone = choose(self.milestones, index, aim, lambda m: m.status == "submitted")
        refusal = None if milestone.status == "submitted" else Conflict
        actor = milestone.contract.actors["client"]
        self.attempt(
            refusal,
            lambda: workflow.request_changes(actor, milestone.id, "More tests", now=self.now),
        )
        if refusal is None:
            milestone.status = "funded"
            milestone.review_due_at = None

    def wait_and_sweep(self, index, aim, option):
        """``option`` days pass; the sweep releases every delivery whose review period ended."""
        self._sweep(days=option)

    def _sweep(self, days):
        self.now += dt.timedelta(days=days)
        due = [
            m for m in self.milestones if m.status == "submitted" and m.review_due_at <= self.now
        ]
        assert self.attempt(None, lambda: escrow.sweep_due(self.now)) == len(due)
        for milestone in due:
            self._released(milestone)

    # --- cancellation by mutual agreement (refund) -----------------------------------------

    def _propose(self, contract, side):
        if contract.status != "active":
            refusal = Conflict
        elif contract.cancel_requested_by is not None:
            refusal = AlreadyDone
        else:
            refusal = None
        actor = contract.actors[side]
        self.attempt(
            refusal,
            lambda: workflow.request_cancellation(
                actor, db.session.get(Contract, contract.id), "We part ways", now=self.now
            ),
        )
        if refusal is None:
            contract.cancel_requested_by = side

    def _agree(self, contract, side):
        if contract.status == "cancelled":
            refusal = AlreadyDone
        elif contract.cancel_requested_by in (None, side):
            refusal = NotAllowed
        elif contract.status != "active":
            refusal = IllegalTransition  # a contract completed meanwhile stays completed
        else:
            refusal = None
        actor = contract.actors[side]
        self.attempt(
            refusal,
            lambda: workflow.confirm_cancellation(
                actor, db.session.get(Contract, contract.id), now=self.now
            ),
        )
        if refusal is None:
            self._cancelled(contract)

    def _proposable(self, contract):
        return contract.status == "active" and contract.cancel_requested_by is None

    def _proposed(self, contract):
        return contract.status == "active" and contract.cancel_requested_by is not None

    def refund(self, index, aim, option):
        """One side proposes to cancel, the other agrees: escrow goes back to the enterprise."""
        contract = choose(self.contracts, index, aim, self._proposable)
        side = SIDES[option % 2]
        self._propose(contract, side)
        self._agree(contract, OTHER_SIDE[side])

    def propose_cancellation(self, index, aim, option):
        self._propose(choose(self.contracts, index, aim, self._proposable), SIDES[option % 2])

    def agree_to_cancellation(self, index, aim, option):
        contract = choose(self.contracts, index, aim, self._proposed)
        side = SIDES[option % 2]
        if aim and contract.cancel_requested_by is not None:
            side = OTHER_SIDE[contract.cancel_requested_by]
        self._agree(contract, side)

    def withdraw_cancellation(self, index, aim, option):
        contract = choose(self.contracts, index, aim, self._proposed)
        side = SIDES[option % 2]
        if aim and contract.cancel_requested_by is not None:
            side = contract.cancel_requested_by
        if contract.cancel_requested_by != side:
            refusal = NotAllowed
        elif contract.status != "active":
            refusal = Conflict  # agreed to, or the contract ended: the proposal stays on record
        else:
            refusal = None
        actor = contract.actors[side]
        self.attempt(
            refusal,
            lambda: workflow.withdraw_cancellation(actor, db.session.get(Contract, contract.id)),
        )
        if refusal is None:
            contract.cancel_requested_by = None

    # --- payouts ------------------------------------------------------------------------

    def _open_payouts(self):
        return [payout for payout in self.payouts if payout.status == "requested"]

    def _drawable(self, index, aim, option):
        """A contract and a role (payee, agency, client): with ``aim``, one with money to draw
        and no open request."""
        pairs = [(contract, ROLES[option % 3]) for contract in self.contracts]
        if aim:
            open_payouts = {(p.contract.id, p.role) for p in self._open_payouts()}
            drawable = [
                (contract, role)
                for contract in self.contracts
                for role in ROLES
                if self.expected.get(payable_code(contract, role), 0) > 0
                and (contract.id, role) not in open_payouts
            ]
            pairs = drawable or pairs
        return pick(pairs, index)

    def _request_payout(self, contract, role):
        actor = contract.drawers[role]
        balance = self.expected.get(payable_code(contract, role), 0)
        if actor is None:
            refusal, actor = NotAllowed, self.users["broker"]
        elif balance <= 0:
            refusal = DomainError
        elif any(p.contract is contract and p.role == role for p in self._open_payouts()):
            refusal = AlreadyDone
        else:
            refusal = None
        requested = self.attempt(
            refusal,
            lambda: payouts.request_payout(
                actor,
                db.session.get(Contract, contract.id),
                role,
                "Account",
                "BOC",
                "6217000011112222",
            ),
        )
        if requested is None:
            return None
        assert requested.amount_fen == balance
        model = PayoutModel(requested.id, contract, role, balance)
        self.payouts.append(model)
        return model

    def _send_payout(self, payout):
        refusal = {"requested": None, "sent": AlreadyDone}.get(payout.status, Conflict)
        manager = self.users["manager"]
        self.attempt(
            refusal,
            lambda: payouts.send_payout(
                manager, db.session.get(Payout, payout.id), "OUT-1", now=self.now
            ),
        )
        if refusal is None:
            payout.status = "sent"
            self._move(payable_code(payout.contract, payout.role), -payout.amount)
            self._move("clearing:bank", payout.amount)
            self.entries["payout"] += 1

    def payout(self, index, aim, option):
        """A payee (the agency; the enterprise, for refunds) asks for its balance and a manager
        records the transfer sent."""
        requested = self._request_payout(*self._drawable(index, aim, option))
        if requested is not None:
            self._send_payout(requested)

    def request_payout(self, index, aim, option):
        self._request_payout(*self._drawable(index, aim, option))

    def _requested(self, payout):
        return payout.status == "requested"

    def send_payout(self, index, aim, option):
        if self.payouts:
            self._send_payout(choose(self.payouts, index, aim, self._requested))

    def cancel_payout(self, index, aim, option):
        if not self.payouts:
            return
        payout = choose(self.payouts, index, aim, self._requested)
        refusal = None if payout.status == "requested" else IllegalTransition
        actor = payout.contract.drawers[payout.role]
        self.attempt(
            refusal, lambda: payouts.cancel_payout(actor, db.session.get(Payout, payout.id))
        )
        if refusal is None:
            payout.status = "cancelled"

    # --- the wrong people ----------------------------------------------------------------

    def wrong_person(self, index, aim, option):
        """Someone who may not do it tries: NotAllowed, and nothing changes."""
        milestone = pick(self.milestones, index)
        contract = milestone.contract
        solver, client = contract.actors["solver"], contract.actors["client"]
        outsider = self.users["outsider"]

        def stored_contract():
            return db.session.get(Contract, contract.id)

        def stored_milestone():
            return db.session.get(Milestone, milestone.id)

        attempts = [
            lambda: workflow.accept_delivery(solver, milestone.id),
            lambda: workflow.submit_delivery(client, milestone.id, "Done"),
            lambda: workflow.request_changes(solver, milestone.id, "No"),
            lambda: fundings.start_funding(solver, stored_milestone()),
            lambda: fundings.start_funding(outsider, stored_milestone()),
            lambda: workflow.request_cancellation(outsider, stored_contract(), "I say so"),
            lambda: payouts.request_payout(outsider, stored_contract(), "payee", "Me", "BOC", "1"),
            lambda: payouts.request_payout(client, stored_contract(), "payee", "Me", "BOC", "1"),
        ]
        if self.fundings:
            funding_id = pick(self.fundings, index).id
            attempts += [
                functools.partial(
                    lambda someone: fundings.confirm_bank_transfer(
                        someone, db.session.get(Funding, funding_id), milestone.due, "ICBC-9"
                    ),
                    someone,
                )
                for someone in (client, solver)
            ]
        if self.payouts:
            payout_id = pick(self.payouts, index).id
            attempts.append(
                lambda: payouts.send_payout(
                    contract.drawers["payee"], db.session.get(Payout, payout_id), "OUT-9"
                )
            )
        self.attempt(NotAllowed, pick(attempts, option))

    # --- the invariants -----------------------------------------------------------------

    @invariant()
    def ledger_matches_the_model(self):
        assert ledger.check() == []
        assert escrow.check() == []
        balances = stored_balances()
        assert sum(balances.values()) == 0
        negative = {
            code: balance
            for code, balance in balances.items()
            if balance < 0 and not code.startswith("clearing:")
        }
        assert negative == {}
        # Money conservation: what came in through the bank less what went out is inside.
        inside = sum(b for code, b in balances.items() if not code.startswith("clearing:"))
        assert balances.get("clearing:bank", 0) == -inside
        funded = sum(m.due for m in self.milestones if m.status not in ("pending", "cancelled"))
        paid_out = sum(p.amount for p in self.payouts if p.status == "sent")
        assert inside == funded - paid_out
        for milestone in self.milestones:
            held = milestone.due if milestone.status in ESCROWED else 0
            assert balances.get(escrow_code(milestone), 0) == held, milestone
        assert {c: b for c, b in balances.items() if b} == {
            c: b for c, b in self.expected.items() if b
        }
        stored, expected = stored_states(), self._states()
        assert stored == expected, (sorted(stored - expected), sorted(expected - stored))

    def _states(self):
        """What stored_states() should find, by the model."""
        return (
            {("milestone", m.id, m.status, None) for m in self.milestones}
            | {("contract", c.id, c.status, c.cancel_requested_by) for c in self.contracts}
            | {("funding", f.id, f.status, None) for f in self.fundings}
            | {("payout", p.id, p.status, p.amount) for p in self.payouts}
            | {("entries", None, kind, n) for kind, n in self.entries.items() if n}
        )


def _no_fsync(dbapi_connection, connection_record):
    dbapi_connection.execute("PRAGMA synchronous = OFF")


@pytest.fixture(scope="module")
def sqlite_app(tmp_path_factory):
    """An app of its own on a SQLite file: the machine clears it before every sequence."""
    url = f"sqlite:///{tmp_path_factory.mktemp('stateful')}/escrow.db"
    app = create_app(app_config(url))
    with app.app_context():
        # A throwaway database need not wait for the disk at every commit.
        sa.event.listen(db.engine, "connect", _no_fsync)
        db.engine.dispose()
        db.create_all()
    yield app
    clear_database(app)
    with app.app_context():
        db.engine.dispose()


def test_random_escrow_sequences_keep_the_money_invariants(sqlite_app):
    run_state_machine_as_test(functools.partial(EscrowMachine, sqlite_app), settings=runs())
