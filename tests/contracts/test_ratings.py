"""Ratings after a completed contract (hidden until both sides rated or the rating period
ended, once per side, only by the parties) and the credit profiles built from the rows."""

import datetime as dt

import pytest
import sqlalchemy as sa

from crowdsource.accounts.models import Membership, Role, User
from crowdsource.contracts import ratings, workflow
from crowdsource.contracts.models import Contract, ContractStatus, Delivery, Rating, Side
from crowdsource.db import db, transaction, utcnow
from crowdsource.disputes.models import Dispute, DisputeStatus
from crowdsource.errors import Conflict, DomainError, NotAllowed
from crowdsource.notifications.models import Kind, Notification
from crowdsource.sweep import sweep_due
from tests.helpers import stored_counts, together
from tests.payments.support import accept, deliver, fund, page, parse, reload, texts

# --- builders ------------------------------------------------------------------------------


@pytest.fixture
def complete(people, award):
    """``complete(amounts, brokerage_bps=None)``: a contract awarded, every milestone paid,
    delivered and accepted; returns it completed (with the agency's broker as the bidder when
    ``brokerage_bps`` is given, else the individual solver)."""

    def make(amounts=(500_000, 500_000), brokerage_bps=None):
        contract = award(amounts, brokerage_bps=brokerage_bps)
        deliverer = people.broker if brokerage_bps is not None else people.solver
        for milestone in contract.milestones:
            fund(milestone, people.owner, people.managers["qingdao"])
            deliver(deliverer, milestone)
            accept(people.owner, milestone)
        contract = reload(contract)
        assert contract.status == ContractStatus.COMPLETED
        return contract

    return make


def rate(user, contract, score, comment="", now=None):
    with transaction():
        return ratings.rate(user, reload(contract), score, comment, now=now)


def set_deliveries(milestone, *on_time):
    """The milestone's deliveries, oldest first, made to have these on-time flags: the rows the
    delivery code wrote are kept and marked, missing ones are added."""
    with transaction():
        rows = db.session.scalars(
            sa.select(Delivery)
            .filter_by(milestone_id=milestone.id)
            .order_by(Delivery.created_at, Delivery.id)
        ).all()
        for number, flag in enumerate(on_time):
            if number < len(rows):
                rows[number].on_time = flag
            else:
                author = reload(milestone).contract.solver_id
                db.session.add(
                    Delivery(milestone_id=milestone.id, author_id=author, note="work", on_time=flag)
                )


def add_dispute(contract, milestone, opened_by, side, status=DisputeStatus.OPEN, lost_by=None):
    with transaction():
        db.session.add(
            Dispute(
                milestone_id=milestone.id,
                contract_id=contract.id,
                center_id=contract.center_id,
                status=status,
                opened_by_id=opened_by.id,
                opened_by_side=side,
                reason="The delivery does not match the specification.",
                amount_fen=milestone.amount_fen,
                respond_by=utcnow() + dt.timedelta(days=5),
                lost_by_side=lost_by,
                final_at=utcnow() if status == DisputeStatus.FINAL else None,
            )
        )


def rating_count():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Rating))


# --- hidden until both rated ---------------------------------------------------------------


def test_a_rating_stays_hidden_until_the_other_side_has_rated_then_both_show_at_once(
    people, complete, client, login
):
    contract = complete()
    first = rate(people.solver, contract, 4, "Clear requirements, paid on time.")
    assert first.visible_at is None
    assert (first.rated_organization_id, first.rated_user_id) == (people.enterprise.id, None)

    login(people.owner)
    shown = page(client.get(f"/contracts/{contract.id}"))
    assert texts(shown, "visible-rating") == []
    assert texts(shown, "other-side-rated")
    assert "Clear requirements" not in shown
    login(people.solver)
    shown = client.get(f"/contracts/{contract.id}")
    assert texts(shown, "rating-waiting")
    assert ratings.credit_profile(organization=people.enterprise).rating_count == 0

    login(people.owner)
    response = client.post(
        f"/contracts/{contract.id}/rating", data={"score": "5", "comment": "Excellent work."}
    )
    assert response.status_code == 302
    stored = db.session.scalars(sa.select(Rating).order_by(Rating.id)).all()
    assert [(r.rater_side, r.score) for r in stored] == [(Side.SOLVER, 4), (Side.CLIENT, 5)]
    assert stored[1].rated_user_id == people.solver.id
    assert stored[0].visible_at is not None
    assert stored[0].visible_at == stored[1].visible_at
    shown = client.get(f"/contracts/{contract.id}")
    assert len(texts(shown, "visible-rating")) == 2
    assert texts(shown, "rating-comment") == [
        "Excellent work.",
        "Clear requirements, paid on time.",
    ]
    assert not parse(shown).find_all(testid="rating-form")


def test_the_rated_side_is_told_without_the_score(people, complete):
    contract = complete()
    rate(people.solver, contract, 2, "Slow to answer.")
    told = db.session.scalars(
        sa.select(Notification).filter_by(kind=Kind.RATING_RECEIVED, user_id=people.owner.id)
    ).all()
    assert len(told) == 1
    assert told[0].params == {"number": contract.number}
    assert told[0].link == f"/contracts/{contract.id}"
    assert not db.session.scalars(
        sa.select(Notification).filter_by(kind=Kind.RATING_RECEIVED, user_id=people.solver.id)
    ).all()


def test_the_form_is_shown_only_to_a_party_who_has_not_rated(people, complete, client, login):
    contract = complete()
    login(people.solver)
    form = parse(client.get(f"/contracts/{contract.id}")).find_all(testid="rating-form")
    assert len(form) == 1
    assert {i.attrs["value"] for i in form[0].find_all("input") if i.attrs.get("name") == "score"}
    assert client.post(f"/contracts/{contract.id}/rating", data={"score": "3"}).status_code == 302
    assert not parse(client.get(f"/contracts/{contract.id}")).find_all(testid="rating-form")
    login(people.managers["qingdao"])  # may see the contract, is not a party
    shown = client.get(f"/contracts/{contract.id}")
    assert not parse(shown).find_all(testid="rating-form")
    assert texts(shown, "visible-rating") == []


# --- the sweep -----------------------------------------------------------------------------


def test_the_sweep_shows_a_lone_rating_14_days_after_completion_and_not_before(people, complete):
    contract = complete()
    completed_at = contract.completed_at
    rate(people.owner, contract, 3, "Fine.", now=completed_at + dt.timedelta(days=1))
    period = dt.timedelta(days=14)
    assert sweep_due(completed_at + period - dt.timedelta(minutes=1))["ratings_published"] == 0
    assert db.session.scalars(sa.select(Rating)).one().visible_at is None
    assert sweep_due(completed_at + period)["ratings_published"] == 1
    db.session.expire_all()
    assert db.session.scalars(sa.select(Rating)).one().visible_at == completed_at + period
    assert sweep_due(completed_at + period + dt.timedelta(days=1))["ratings_published"] == 0
    assert ratings.credit_profile(user=people.solver).rating_count == 1
    # the rating period is over: the other side cannot rate after reading the first rating
    with pytest.raises(Conflict, match="rating period"):
        rate(people.solver, contract, 1, now=completed_at + period + dt.timedelta(days=1))
    assert rating_count() == 1


def test_the_sweep_leaves_ratings_of_recently_completed_contracts_hidden(people, complete):
    old, recent = complete(), complete((300_000,))
    rate(people.owner, old, 5, now=old.completed_at)
    rate(people.owner, recent, 5, now=recent.completed_at)
    with transaction():
        reload(old).completed_at = utcnow() - dt.timedelta(days=20)
    assert sweep_due()["ratings_published"] == 1
    visible = db.session.scalars(
        sa.select(Rating.contract_id).where(Rating.visible_at.is_not(None))
    )
    assert visible.all() == [old.id]


# --- refusals ------------------------------------------------------------------------------


def test_a_side_rates_once_the_second_attempt_is_a_409(people, complete, client, login):
    contract = complete()
    login(people.solver)
    assert client.post(f"/contracts/{contract.id}/rating", data={"score": "4"}).status_code == 302
    before = stored_counts()
    response = client.post(f"/contracts/{contract.id}/rating", data={"score": "1"})
    assert response.status_code == 409
    assert "already rated" in page(response)
    assert stored_counts() == before
    assert db.session.scalars(sa.select(Rating.score)).all() == [4]


def test_a_colleague_of_the_agency_cannot_rate_again_for_the_same_side(people, complete):
    contract = complete((400_000,), brokerage_bps=1000)
    with transaction():
        db.session.add(
            Membership(user=people.outsider, organization=people.agency, role=Role.MEMBER)
        )
    rating = rate(people.broker, contract, 5)
    assert rating.rated_organization_id == people.enterprise.id
    with pytest.raises(Conflict, match="already rated"):
        rate(people.outsider, contract, 1)
    by_client = rate(people.owner, contract, 4)
    assert (by_client.rated_organization_id, by_client.rated_user_id) == (people.agency.id, None)
    assert rating_count() == 2


def test_an_active_contract_cannot_be_rated(people, award, client, login):
    contract = award()
    fund(contract.milestones[0], people.owner, people.managers["qingdao"])
    login(people.owner)
    before = stored_counts()
    response = client.post(f"/contracts/{contract.id}/rating", data={"score": "5"})
    assert response.status_code == 409
    assert "once it is completed" in page(response)
    assert stored_counts() == before


def test_outsiders_cannot_rate(people, complete, client, login):
    contract = complete()
    before = stored_counts()
    login(people.outsider)  # may not even see the contract
    assert client.post(f"/contracts/{contract.id}/rating", data={"score": "5"}).status_code == 404
    assert client.post("/contracts/999999/rating", data={"score": "5"}).status_code == 404
    login(people.managers["qingdao"])  # sees it as the center's manager, is not a party
    response = client.post(f"/contracts/{contract.id}/rating", data={"score": "5"})
    assert response.status_code == 403
    assert "Only the parties" in page(response)
    login(people.professor)  # of the payee institution of no contract here
    assert client.post(f"/contracts/{contract.id}/rating", data={"score": "5"}).status_code == 404
    client.post("/logout")
    assert client.post(f"/contracts/{contract.id}/rating", data={"score": "5"}).status_code in (
        302,
        401,
    )
    assert stored_counts() == before


def test_the_payee_institution_is_not_a_rating_party(people, complete):
    contract = complete((400_000,), brokerage_bps=1000)
    with pytest.raises(NotAllowed):
        rate(people.professor, contract, 5)
    assert rating_count() == 0


@pytest.mark.parametrize("score", ["0", "6", "-1", "abc", "3.5", ""])
def test_a_score_outside_1_to_5_is_a_400_with_the_reason(people, complete, client, login, score):
    contract = complete()
    login(people.solver)
    before = stored_counts()
    response = client.post(f"/contracts/{contract.id}/rating", data={"score": score})
    assert response.status_code == 400
    assert "Choose a score from 1 to 5." in page(response)
    assert stored_counts() == before


def test_bad_input_answers_json_clients_with_the_reason(people, complete, client, login):
    contract = complete()
    login(people.solver)
    response = client.post(
        f"/contracts/{contract.id}/rating",
        data={"score": "5", "comment": "x" * 2001},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    assert "at most 2000 characters" in response.get_json()["error"]
    assert rating_count() == 0
    response = client.post(
        f"/contracts/{contract.id}/rating", data={"score": "5", "comment": "x" * 2000}
    )
    assert response.status_code == 302


def test_the_service_refuses_scores_that_are_not_whole_numbers_1_to_5(people, complete):
    contract = complete()
    for score in (0, 6, None, True, 4.0, "4"):
        with pytest.raises(DomainError, match="score from 1 to 5"):
            rate(people.solver, contract, score)
    assert rating_count() == 0


def test_a_rating_without_csrf_token_is_refused(people, complete, client, login):
    contract = complete()
    login(people.solver)
    response = client.post(f"/contracts/{contract.id}/rating", data={"score": "5"}, csrf=False)
    assert response.status_code == 400
    assert rating_count() == 0


def test_a_rating_stored_by_a_racing_request_is_a_409_not_a_500(
    people, complete, client, login, monkeypatch
):
    """The unique (contract, side) constraint decides when two requests pass the check at the
    same moment (SQLite takes no row lock): the one whose insert fails gets a 409."""
    contract = complete()
    with transaction():
        db.session.add(
            Rating(
                contract_id=contract.id,
                rater_side=Side.SOLVER,
                rater_id=people.solver.id,
                rated_organization_id=people.enterprise.id,
                score=5,
            )
        )
    # As if the other request committed only after this one looked for a rating.
    monkeypatch.setattr(ratings, "_rating_of", lambda contract, side: None)
    login(people.solver)
    response = client.post(f"/contracts/{contract.id}/rating", data={"score": "1"})
    assert response.status_code == 409
    assert db.session.scalars(sa.select(Rating.score)).all() == [5]


# --- concurrency (PostgreSQL) --------------------------------------------------------------


def attempt(user_id, contract_id, score):
    def run():
        rating = ratings.rate(
            db.session.get(User, user_id), db.session.get(Contract, contract_id), score
        )
        return rating.id

    return run


@pytest.mark.postgresql
@pytest.mark.committing
def test_concurrent_ratings_by_one_side_store_one_and_refuse_the_rest(app, people, complete):
    contract = complete()
    outcomes = together(app, [attempt(people.solver.id, contract.id, 1 + n % 5) for n in range(8)])
    stored = [o for o in outcomes if isinstance(o, int)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(stored) == 1
    assert len(refused) == 7
    assert all(isinstance(error, ratings.AlreadyRated) for error in refused), refused
    assert rating_count() == 1


@pytest.mark.postgresql
@pytest.mark.committing
def test_both_sides_rating_at_the_same_moment_are_both_shown(app, people, complete):
    contract = complete()
    outcomes = together(
        app, [attempt(people.solver.id, contract.id, 4), attempt(people.owner.id, contract.id, 5)]
    )
    assert all(isinstance(o, int) for o in outcomes), outcomes
    shown = db.session.scalars(sa.select(Rating.visible_at)).all()
    assert len(shown) == 2 and None not in shown


# --- credit profiles -----------------------------------------------------------------------


@pytest.fixture
def history(people, award, complete):
    """The record the profile tests read:

    - A, individual solver, ¥5,000 + ¥5,000, completed; milestone 2 sent back once and its first
      delivery late; a final dispute opened by the solver and lost by the enterprise; both sides
      rated (solver 5 by the enterprise, enterprise 4 by the solver): visible.
    - B, individual solver, ¥2,000 + ¥4,000, completed; a final dispute opened by the enterprise
      and lost by the solver; only the enterprise rated (2): hidden.
    - C, the agency for the university, ¥8,000, completed; a final dispute opened by the agency
      and lost by it; both rated (agency 3, enterprise 5): visible.
    - D, individual solver, ¥9,000 + ¥1,000, active; milestone 1 delivered on time; an open
      dispute opened by the solver.
    """
    a = award((500_000, 500_000))
    for milestone in a.milestones:
        fund(milestone, people.owner, people.managers["qingdao"])
        deliver(people.solver, milestone)
    with transaction():
        workflow.request_changes(people.owner, a.milestones[1].id, "Add the calibration report.")
    deliver(people.solver, a.milestones[1])
    for milestone in a.milestones:
        accept(people.owner, milestone)
    set_deliveries(a.milestones[0], True)
    set_deliveries(a.milestones[1], False, True)
    b = complete((200_000, 400_000))
    set_deliveries(b.milestones[0], True)
    set_deliveries(b.milestones[1], True)
    c = complete((800_000,), brokerage_bps=1000)
    set_deliveries(c.milestones[0], True)
    d = award((900_000, 100_000))
    fund(d.milestones[0], people.owner, people.managers["qingdao"])
    deliver(people.solver, d.milestones[0])
    set_deliveries(d.milestones[0], True)

    add_dispute(a, a.milestones[0], people.solver, Side.SOLVER, DisputeStatus.FINAL, Side.CLIENT)
    add_dispute(b, b.milestones[1], people.owner, Side.CLIENT, DisputeStatus.FINAL, Side.SOLVER)
    add_dispute(c, c.milestones[0], people.broker, Side.SOLVER, DisputeStatus.FINAL, Side.SOLVER)
    add_dispute(d, d.milestones[0], people.solver, Side.SOLVER)

    rate(people.owner, a, 5, "Delivered a *working* prototype.")
    rate(people.solver, a, 4, "Good partner.")
    rate(people.owner, b, 2, "A hidden complaint.")
    rate(people.owner, c, 3, "The agency was slow.")
    rate(people.broker, c, 5, "Prompt payments.")
    return reload(a), reload(b), reload(c), reload(d)


def test_credit_profiles_equal_what_the_rows_say(people, history):
    solver = ratings.credit_profile(user=people.solver)
    assert (solver.completed_contracts, solver.total_value_fen) == (2, 1_600_000)
    # A1 on time, A2 first late, B1, B2, D1 on time
    assert (solver.milestones_delivered, solver.delivered_on_time, solver.on_time_bps) == (
        5,
        4,
        8000,
    )
    assert (solver.disputes_opened, solver.disputes_lost) == (2, 1)  # A and D opened, B lost
    assert (solver.rating_count, solver.average_rating) == (1, 5.0)  # B's rating is hidden

    enterprise = ratings.credit_profile(organization=people.enterprise)
    assert (enterprise.completed_contracts, enterprise.total_value_fen) == (3, 2_400_000)
    assert (enterprise.milestones_delivered, enterprise.on_time_bps) == (0, None)
    assert (enterprise.disputes_opened, enterprise.disputes_lost) == (1, 1)  # B opened, A lost
    assert (enterprise.rating_count, enterprise.average_rating) == (2, 4.5)

    agency = ratings.credit_profile(organization=people.agency)
    assert (agency.completed_contracts, agency.total_value_fen) == (1, 800_000)
    assert (agency.milestones_delivered, agency.on_time_bps) == (1, 10_000)
    assert (agency.disputes_opened, agency.disputes_lost) == (1, 1)
    assert (agency.rating_count, agency.average_rating) == (1, 3.0)

    institute = ratings.credit_profile(organization=people.institute)  # the payee of C
    assert (institute.completed_contracts, institute.total_value_fen) == (1, 800_000)
    assert (institute.disputes_opened, institute.disputes_lost, institute.rating_count) == (1, 1, 0)

    nobody = ratings.credit_profile(user=people.outsider)
    assert nobody == ratings.CreditProfile(0, 0, 0, 0, 0, 0, 0, 0)
    assert (nobody.on_time_bps, nobody.average_rating) == (None, None)


def test_the_on_time_rate_counts_deliveries_as_the_delivery_code_records_them(
    people, award, uploads
):
    from crowdsource.contracts import deliveries

    contract = award((300_000, 300_000))
    first, second = contract.milestones
    for milestone in (first, second):
        fund(milestone, people.owner, people.managers["qingdao"])
    with transaction():
        deliveries.deliver(people.solver, first.id, "On time.", [])
    late = dt.datetime.combine(second.due_date, dt.time(12), dt.UTC) + dt.timedelta(days=2)
    with transaction():
        deliveries.deliver(people.solver, second.id, "Two days late.", [], now=late)
    profile = ratings.credit_profile(user=people.solver)
    assert (profile.milestones_delivered, profile.delivered_on_time) == (2, 1)
    assert profile.on_time_bps == 5000
    assert profile.completed_contracts == 0  # delivered, not completed


def test_a_credit_profile_takes_the_same_few_queries_however_long_the_record(app, people, history):
    enterprise = reload(people.enterprise)
    statements = []

    def count(*args):
        statements.append(args)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        ratings.credit_profile(organization=enterprise)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 4


def test_the_profile_pages_show_the_credit_profile_and_visible_ratings(people, history, client):
    shown = client.get(f"/users/{people.solver.id}")
    assert shown.status_code == 200
    assert texts(shown, "credit-completed") == ["2"]
    assert texts(shown, "credit-value") == ["¥16,000.00"]
    assert texts(shown, "credit-on-time")[0].startswith("80%")
    assert texts(shown, "credit-disputes-opened") == ["2"]
    assert texts(shown, "credit-disputes-lost") == ["1"]
    assert texts(shown, "credit-rating") == ["5.0 of 5 (1 rating)"]
    assert len(texts(shown, "profile-rating")) == 1
    assert "Delivered a <em>working</em> prototype." in page(shown)
    assert "A hidden complaint" not in page(shown)

    shown = client.get(f"/orgs/{people.enterprise.id}")
    assert texts(shown, "credit-completed") == ["3"]
    assert texts(shown, "credit-value") == ["¥24,000.00"]
    assert texts(shown, "credit-on-time") == ["no milestones delivered"]
    assert texts(shown, "credit-disputes-opened") == ["1"]
    assert texts(shown, "credit-disputes-lost") == ["1"]
    assert texts(shown, "credit-rating") == ["4.5 of 5 (2 ratings)"]
    scores = {t.split(" · ")[0] for t in texts(shown, "profile-rating")}
    assert scores == {"★★★★☆ 4 of 5", "★★★★★ 5 of 5"}

    shown = client.get(f"/users/{people.outsider.id}")
    assert texts(shown, "credit-completed") == ["0"]
    assert texts(shown, "credit-rating") == ["no ratings yet"]
    assert texts(shown, "profile-rating") == []
