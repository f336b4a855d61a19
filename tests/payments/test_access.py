"""Who may move a contract's money, through the pages: the enterprise funds and accepts, the
solver's side delivers, managers of the contract's center (or above) and the admin record
transfers in and out; everyone else is refused and nothing changes. Bad input and repeated
clicks get clear 4xx answers, never a 500."""

import pytest
import sqlalchemy as sa

from crowdsource.contracts.models import MilestoneStatus
from crowdsource.db import db, transaction
from crowdsource.errors import DomainError
from crowdsource.payments import funding as fundings
from crowdsource.payments import ledger, payouts
from crowdsource.payments.models import Funding, FundingStatus, Payout, PayoutStatus
from tests.helpers import form_errors
from tests.payments.support import (
    BANK,
    accept,
    balances,
    deliver,
    fund,
    page,
    parse,
    read_csv,
    reload,
    stored_counts,
    texts,
)

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")


def start(milestone, owner):
    with transaction():
        return fundings.start_funding(owner, milestone)


def release_first(people, contract):
    """The first milestone of ``contract`` funded, delivered by the agency and accepted."""
    first = contract.milestones[0]
    fund(first, people.owner, people.managers["qingdao"])
    deliver(people.broker, first)
    accept(people.owner, first)
    return first


@pytest.fixture
def brokered(people, award):
    """A Laoshan contract won by the agency for the university (15 % brokerage)."""
    return award([300_000, 200_000, 100_000], brokerage_bps=1500)


def refused(client, login, users, url, data=None):
    """POST ``url`` as each of ``users``; returns the status codes; asserts nothing was stored."""
    before, money = stored_counts(), balances()
    codes = []
    for user in users:
        login(user)
        codes.append(client.post(url, data=data).status_code)
    assert stored_counts() == before
    assert balances() == money
    return codes


def test_only_the_enterprise_starts_funding(client, login, people, brokered):
    first = brokered.milestones[0]
    url = f"/milestones/{first.id}/fund"
    codes = refused(
        client,
        login,
        [people.broker, people.professor, people.managers["qingdao"], people.outsider],
        url,
    )
    # Parties and the center's managers see the contract (403); an outsider does not (404).
    assert codes == [403, 403, 403, 404]
    login(people.managers["zibo"])
    assert client.post(url).status_code == 404
    login(people.owner)
    assert client.post(url).status_code == 302
    assert db.session.scalars(sa.select(Funding)).one().milestone_id == first.id


def test_only_the_solvers_side_delivers(client, login, people, brokered):
    first = brokered.milestones[0]
    fund(first, people.owner, people.managers["qingdao"])
    url = f"/milestones/{first.id}/deliver"
    codes = refused(
        client,
        login,
        [people.owner, people.professor, people.managers["qingdao"], people.outsider],
        url,
        {"note": "Here it is"},
    )
    assert codes == [403, 403, 403, 404]
    assert reload(first).status == MilestoneStatus.FUNDED
    login(people.broker)
    assert client.post(url, data={"note": "Here it is"}).status_code == 302
    assert reload(first).status == MilestoneStatus.SUBMITTED


def test_only_the_enterprise_accepts_and_requests_changes(client, login, people, brokered):
    first = brokered.milestones[0]
    fund(first, people.owner, people.managers["qingdao"])
    deliver(people.broker, first)
    others = [people.broker, people.professor, people.managers["shandong"], people.outsider]
    assert refused(client, login, others, f"/milestones/{first.id}/accept") == [403] * 3 + [404]
    assert refused(
        client, login, others, f"/milestones/{first.id}/changes", {"reason": "Redo"}
    ) == [403] * 3 + [404]
    assert reload(first).status == MilestoneStatus.SUBMITTED
    assert ledger.balance(f"escrow:milestone:{first.id}") == 300_000
    login(people.owner)
    assert client.post(f"/milestones/{first.id}/accept").status_code == 302
    assert reload(first).status == MilestoneStatus.RELEASED


def test_managers_of_the_center_or_above_and_the_admin_confirm_transfers(
    client, login, people, brokered
):
    first, second, third = brokered.milestones
    funding = start(first, people.owner)
    url = f"/fundings/{funding.id}/confirm"
    data = {"amount": "3000.00", "bank_reference": "ICBC-0001"}
    codes = refused(
        client,
        login,
        [people.managers["zibo"], people.owner, people.broker, people.outsider],
        url,
        data,
    )
    assert codes == [403, 403, 403, 403]
    assert reload(funding).status == FundingStatus.PENDING

    # A manager of Shandong (two levels up), of Qingdao (the parent) and the admin may.
    for milestone, confirmer in (
        (first, people.managers["shandong"]),
        (second, people.managers["qingdao"]),
        (third, people.admin),
    ):
        funding = start(milestone, people.owner)
        login(confirmer)
        amount = f"{milestone.amount_fen // 100}.00"
        response = client.post(
            f"/fundings/{funding.id}/confirm",
            data={"amount": amount, "bank_reference": f"REF-{milestone.id}"},
        )
        assert response.status_code == 302
        assert ledger.balance(f"escrow:milestone:{milestone.id}") == milestone.amount_fen
        assert reload(funding).confirmed_by_id == confirmer.id


def test_managers_of_the_center_or_above_and_the_admin_send_payouts(
    client, login, people, brokered
):
    release_first(people, brokered)
    login(people.professor)
    client.post(f"/contracts/{brokered.id}/payouts/payee", data=BANK)
    login(people.broker)
    client.post(f"/contracts/{brokered.id}/payouts/agency", data=BANK)
    payee_payout, agency_payout = db.session.scalars(sa.select(Payout).order_by(Payout.id))
    others = [people.managers["zibo"], people.owner, people.professor, people.broker]
    codes = refused(
        client, login, others, f"/payouts/{payee_payout.id}/send", {"bank_reference": "OUT-1"}
    )
    assert codes == [403, 403, 403, 403]
    assert reload(payee_payout).status == PayoutStatus.REQUESTED

    login(people.managers["shandong"])
    response = client.post(f"/payouts/{payee_payout.id}/send", data={"bank_reference": "OUT-1"})
    assert response.status_code == 302
    login(people.admin)
    response = client.post(f"/payouts/{agency_payout.id}/send", data={"bank_reference": "OUT-2"})
    assert response.status_code == 302
    assert ledger.balance(f"payable:contract:{brokered.id}:payee") == 0
    assert ledger.balance(f"payable:contract:{brokered.id}:agency") == 0
    assert ledger.balance("clearing:bank") == -300_000 + 240_000 + 45_000


def test_the_payments_page_lists_only_the_managers_centers_transfers(
    client, login, people, brokered, award
):
    laoshan = start(brokered.milestones[0], people.owner)
    zibo_contract = award([800_000], zibo=True)
    zibo = start(zibo_contract.milestones[0], people.zibo_owner)

    def references(user):
        login(user)
        response = client.get("/manage/payments")
        assert response.status_code == 200
        return [
            element.find_all("code")[0].text
            for element in parse(response).find_all(testid="transfer")
        ]

    assert references(people.managers["qingdao"]) == [laoshan.reference]
    assert references(people.managers["zibo"]) == [zibo.reference]
    assert sorted(references(people.managers["shandong"])) == sorted(
        [laoshan.reference, zibo.reference]
    )
    assert sorted(references(people.admin)) == sorted([laoshan.reference, zibo.reference])
    for user in (people.owner, people.outsider, people.broker):
        login(user)
        assert client.get("/manage/payments").status_code == 403


def test_a_payee_sees_only_their_own_earnings(client, login, people, brokered, award):
    own = award([120_000], bidder=people.solver)
    for contract, solver_side in ((brokered, people.broker), (own, people.solver)):
        milestone = contract.milestones[0]
        fund(milestone, people.owner, people.admin)
        deliver(solver_side, milestone)
        accept(people.owner, milestone)

    login(people.solver)
    shown = page(client.get("/earnings"))
    assert own.number in shown and brokered.number not in shown
    assert texts(client.get("/earnings"), "balance") == ["¥1,140.00"]
    rows = read_csv(client.get("/earnings.csv"))
    assert [row[0] for row in rows[1:]] == [own.number]
    assert client.get(f"/contracts/{brokered.id}/statement.csv").status_code == 404
    assert client.get(f"/contracts/{brokered.id}").status_code == 404
    assert client.post(f"/contracts/{brokered.id}/payouts/payee", data=BANK).status_code == 404

    login(people.professor)
    assert own.number not in page(client.get("/earnings"))
    assert client.get(f"/contracts/{own.id}/statement.csv").status_code == 404
    # The university is paid on the agency's contract but may not draw the agency's brokerage.
    before = stored_counts()
    assert client.post(f"/contracts/{brokered.id}/payouts/agency", data=BANK).status_code == 403
    assert stored_counts() == before


def test_a_wrong_amount_on_confirmation_is_refused_with_a_reason_and_posts_nothing(
    client, login, people, brokered
):
    funding = start(brokered.milestones[0], people.owner)
    login(people.managers["qingdao"])
    before = stored_counts()
    for amount in ("2999.99", "3000.01", "30000"):
        response = client.post(
            f"/fundings/{funding.id}/confirm", data={"amount": amount, "bank_reference": "ICBC-9"}
        )
        assert response.status_code == 400
        assert "is not the amount due (¥3,000.00). Nothing has been recorded." in page(response)
    for amount in ("", "abc", "-5", "1.001"):
        response = client.post(
            f"/fundings/{funding.id}/confirm", data={"amount": amount, "bank_reference": "ICBC-9"}
        )
        assert response.status_code == 400
    response = client.post(
        f"/fundings/{funding.id}/confirm", data={"amount": "3000.00", "bank_reference": " "}
    )
    assert response.status_code == 400
    assert stored_counts() == before and balances() == {}
    assert reload(funding).status == FundingStatus.PENDING


def test_a_second_confirmation_and_a_second_acceptance_are_conflicts_not_errors(
    client, login, people, brokered
):
    first = brokered.milestones[0]
    funding = start(first, people.owner)
    login(people.managers["qingdao"])
    data = {"amount": "3000", "bank_reference": "ICBC-1"}
    assert client.post(f"/fundings/{funding.id}/confirm", data=data).status_code == 302
    money, before = balances(), stored_counts()
    again = client.post(f"/fundings/{funding.id}/confirm", data=data)
    assert again.status_code == 409
    assert "This transfer has already been recorded." in page(again)
    assert balances() == money and stored_counts() == before

    # Paying the same milestone again is refused too.
    login(people.owner)
    again = client.post(f"/milestones/{first.id}/fund")
    assert again.status_code == 409 and "already funded" in page(again)

    deliver(people.broker, first)
    assert client.post(f"/milestones/{first.id}/accept").status_code == 302
    money, before = balances(), stored_counts()
    again = client.post(f"/milestones/{first.id}/accept")
    assert again.status_code == 409
    assert "This milestone has already been released." in page(again)
    assert balances() == money and stored_counts() == before


def test_a_payout_request_needs_bank_details_and_only_its_payee_withdraws_it(
    client, login, people, brokered
):
    release_first(people, brokered)
    url = f"/contracts/{brokered.id}/payouts/payee"
    login(people.professor)
    before = stored_counts()
    for missing in BANK:
        response = client.post(url, data={**BANK, missing: "  "})
        assert response.status_code == 400
    assert stored_counts() == before

    assert client.post(url, data=BANK).status_code == 302
    payout = db.session.scalars(sa.select(Payout)).one()
    others = [people.broker, people.owner, people.outsider, people.managers["qingdao"]]
    assert refused(client, login, others, f"/payouts/{payout.id}/cancel") == [403] * 4
    login(people.professor)
    assert client.post(f"/payouts/{payout.id}/cancel").status_code == 302
    assert reload(payout).status == PayoutStatus.CANCELLED
    assert ledger.balance(f"payable:contract:{brokered.id}:payee") == 240_000
    assert client.post(url, data=BANK).status_code == 302  # asked for again


def test_a_payout_request_missing_a_detail_comes_back_as_typed(client, login, people, brokered):
    release_first(people, brokered)
    login(people.professor)
    before = stored_counts()

    response = client.post(
        f"/contracts/{brokered.id}/payouts/payee", data={**BANK, "bank_name": " "}
    )

    assert response.status_code == 400
    assert list(form_errors(response)) == ["bank_name"]
    (form,) = parse(response).find_all("form", testid="payout-request")
    typed = {i.attrs["name"]: i.attrs.get("value", "") for i in form.find_all("input")}
    assert typed["bank_account_name"] == BANK["bank_account_name"]
    assert typed["bank_account_number"] == BANK["bank_account_number"]
    assert "Request a payout" in page(response)
    assert stored_counts() == before


def test_a_payout_is_the_whole_balance_and_only_one_can_be_open(client, login, people, brokered):
    first, second = brokered.milestones[:2]
    fund(first, people.owner, people.managers["qingdao"])
    deliver(people.broker, first)
    accept(people.owner, first)
    account = f"payable:contract:{brokered.id}:payee"
    login(people.professor)
    # An amount sent along is ignored: the request is for exactly the balance.
    response = client.post(
        f"/contracts/{brokered.id}/payouts/payee", data={**BANK, "amount": "999999"}
    )
    assert response.status_code == 302
    [payout] = db.session.scalars(sa.select(Payout)).all()
    assert payout.amount_fen == ledger.balance(account) == 240_000  # 300,000 − 5 % − 15 %

    before = stored_counts()
    again = client.post(f"/contracts/{brokered.id}/payouts/payee", data=BANK)
    assert again.status_code == 409
    assert "already been requested" in page(again)
    assert stored_counts() == before

    # More money released meanwhile stays for the next request; the open one is sent as asked.
    fund(second, people.owner, people.managers["qingdao"])
    deliver(people.broker, second)
    accept(people.owner, second)
    with transaction():
        payouts.send_payout(people.managers["qingdao"], reload(payout), "OUT-1")
    assert ledger.balance(account) == 160_000
    assert client.post(f"/contracts/{brokered.id}/payouts/payee", data=BANK).status_code == 302
    second_payout = db.session.scalars(sa.select(Payout).order_by(Payout.id.desc())).first()
    assert second_payout.amount_fen == 160_000
    with transaction():
        payouts.send_payout(people.managers["qingdao"], reload(second_payout), "OUT-2")
    assert ledger.balance(account) == 0
    nothing = client.post(f"/contracts/{brokered.id}/payouts/payee", data=BANK)
    assert nothing.status_code == 400 and "There is nothing to pay out." in page(nothing)


def test_a_payout_is_recorded_as_sent_once(client, login, people, brokered):
    release_first(people, brokered)
    login(people.professor)
    client.post(f"/contracts/{brokered.id}/payouts/payee", data=BANK)
    payout = db.session.scalars(sa.select(Payout)).one()
    login(people.managers["qingdao"])
    url = f"/payouts/{payout.id}/send"
    assert client.post(url, data={"bank_reference": "OUT-1"}).status_code == 302
    money = balances()
    again = client.post(url, data={"bank_reference": "OUT-1"})
    assert again.status_code == 409 and "already been recorded as sent" in page(again)
    assert balances() == money
    empty = client.post(url, data={"bank_reference": ""})
    assert empty.status_code == 400 and balances() == money


def test_money_pages_need_a_login_and_a_csrf_token(client, login, people, brokered):
    first = brokered.milestones[0]
    funding = start(first, people.owner)
    for url in ("/earnings", "/manage/payments", f"/contracts/{brokered.id}/statement.csv"):
        assert client.get(url).status_code == 302  # to the login page
    login(people.managers["qingdao"])
    before = stored_counts()
    response = client.post(
        f"/fundings/{funding.id}/confirm",
        data={"amount": "3000", "bank_reference": "ICBC-1"},
        csrf=False,
    )
    assert response.status_code == 400
    assert stored_counts() == before and balances() == {}


def test_a_form_error_is_shown_on_the_policy_page_not_a_500(client, login, people):
    login(people.admin)
    response = client.post(
        "/manage/policies",
        data={"center_id": "", "contract_type": "", "commission": "abc", "max_brokerage": "30"},
    )
    assert response.status_code == 400
    assert form_errors(response)["commission"] == ["Enter a percentage, e.g. 10 or 12.5."]


def test_the_payout_service_names_the_missing_bank_detail(people, brokered):
    release_first(people, brokered)
    details = dict(BANK, bank_account_number=" ")
    with pytest.raises(DomainError) as refusal, transaction():
        payouts.request_payout(people.professor, brokered, "payee", *details.values())
    assert refusal.value.field == "bank_account_number"
    assert db.session.scalars(sa.select(Payout)).all() == []
