"""Saved payout details: a person's and an organization's bank accounts, masked once entered,
managed only by their own side and chosen at a payout request, which copies them."""

import pytest
import sqlalchemy as sa

from crowdsource.accounts.models import Role
from crowdsource.db import db, transaction
from crowdsource.errors import DomainError, NotAllowed
from crowdsource.payments import ledger, payee_details, payouts
from crowdsource.payments.models import Payout, PayoutDetails, PayoutStatus
from tests.helpers import add_member, form_errors, stored_counts
from tests.payments.support import BANK, accept, deliver, fund, page, parse, reload, texts

pytestmark = pytest.mark.usefixtures("shared_people")

ACCOUNT = {
    "bank_account_name": "Zhao Lei",
    "bank_name": "ICBC Qingdao Laoshan",
    "bank_account_number": "6222 0212 3456 6789",
}


@pytest.fixture
def released(people, award):
    """The individual solver's contract with its first milestone released: a payable of the
    solver's to pay out."""
    contract = award((500_000, 500_000))
    first = contract.milestones[0]
    fund(first, people.owner, people.managers["qingdao"])
    deliver(people.solver, first)
    accept(people.owner, first)
    return reload(contract)


def save(user, owner, **fields):
    with transaction():
        return payee_details.save_details(
            user,
            owner,
            **{
                "bank_account_name": ACCOUNT["bank_account_name"],
                "bank_name": ACCOUNT["bank_name"],
                "bank_account_number": ACCOUNT["bank_account_number"],
                **fields,
            },
        )


def test_saved_details_show_only_the_last_four_digits(client, login, people):
    login(people.solver)
    response = client.post("/account/payout-details", data=ACCOUNT)
    assert response.status_code == 302
    (details,) = db.session.scalars(sa.select(PayoutDetails)).all()
    assert details.bank_account_number == "6222021234566789"
    assert details.user_id == people.solver.id

    listing = client.get("/account/payout-details")
    assert texts(listing, "masked-number") == ["•••• 6789"]
    assert "6222" not in page(listing) and "021234" not in page(listing)
    edit = client.get(f"/payout-details/{details.id}/edit")
    assert "6222021234566789" not in page(edit) and "6222 0212" not in page(edit)
    assert "•••• 6789" in page(edit)


def test_editing_with_an_empty_number_keeps_it(client, login, people):
    details = save(people.solver, people.solver)
    login(people.solver)
    response = client.post(
        f"/payout-details/{details.id}/edit",
        data={**ACCOUNT, "bank_name": "Bank of China", "bank_account_number": ""},
    )
    assert response.status_code == 302
    details = reload(details)
    assert details.bank_name == "Bank of China"
    assert details.bank_account_number == "6222021234566789"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("6222-0212-3456-678X", "An account number has digits only."),
        ("1234 567", "An account number has 8 to 30 digits."),
        ("1" * 31, "An account number has 8 to 30 digits."),
    ],
)
def test_a_bad_account_number_is_refused_at_its_field_as_typed(
    client, login, people, number, message
):
    login(people.solver)
    before = stored_counts()
    response = client.post(
        "/account/payout-details", data={**ACCOUNT, "bank_account_number": number}
    )
    assert response.status_code == 400
    assert form_errors(response) == {"bank_account_number": [message]}
    (form,) = parse(response).find_all("form", testid="add-details")
    typed = {i.attrs["name"]: i.attrs.get("value", "") for i in form.find_all("input")}
    assert typed["bank_account_number"] == number
    assert typed["bank_name"] == ACCOUNT["bank_name"]
    assert stored_counts() == before


def test_nobody_else_sees_or_changes_a_persons_details(client, login, people):
    details = save(people.solver, people.solver)
    for other in (people.outsider, people.owner, people.managers["qingdao"]):
        login(other)
        assert "6789" not in page(client.get("/account/payout-details"))
        assert client.get(f"/payout-details/{details.id}/edit").status_code == 404
        assert client.post(f"/payout-details/{details.id}/edit", data=ACCOUNT).status_code == 404
        assert client.post(f"/payout-details/{details.id}/delete").status_code == 404
    assert reload(details).bank_name == ACCOUNT["bank_name"]
    with pytest.raises(NotAllowed), transaction():
        payee_details.update_details(people.outsider, details, "X", "Y", "12345678")


def test_only_owners_manage_an_organizations_details(client, login, people, make_user):
    member = make_user(name="Staff of the institute")
    add_member(member, people.institute, Role.MEMBER)
    url = f"/orgs/{people.institute.id}/payout-details"
    for other in (member, people.outsider, people.broker):
        login(other)
        assert client.get(url).status_code == 404
        assert client.post(url, data=ACCOUNT).status_code == 404
    login(people.professor)  # the institute's owner
    assert client.post(url, data=ACCOUNT).status_code == 302
    (details,) = payee_details.details_of(people.institute)
    assert texts(client.get(url), "masked-number") == ["•••• 6789"]
    login(member)
    assert client.post(f"/payout-details/{details.id}/delete").status_code == 404
    assert reload(details) is not None


def test_a_payout_to_saved_details_copies_them(client, login, people, released):
    details = save(people.solver, people.solver)
    login(people.solver)
    earnings = client.get("/earnings")
    (choice,) = parse(earnings).find_all("select", testid="choose-details")
    assert "•••• 6789" in choice.text and "6222" not in page(earnings)

    response = client.post(
        f"/contracts/{released.id}/payouts/payee", data={"details_id": str(details.id)}
    )
    assert response.status_code == 302
    payout = db.session.scalars(sa.select(Payout)).one()
    assert payout.payout_details_id == details.id
    assert (payout.bank_account_name, payout.bank_name, payout.bank_account_number) == (
        "Zhao Lei",
        "ICBC Qingdao Laoshan",
        "6222021234566789",
    )
    # the money is what it always was: the whole payable balance
    assert payout.amount_fen == ledger.balance(f"payable:contract:{released.id}:payee")
    assert texts(client.get("/earnings"), "payout-destination") == [
        "to ICBC Qingdao Laoshan, •••• 6789"
    ]

    # a later edit changes nothing of where the earlier payout goes
    client.post(
        f"/payout-details/{details.id}/edit",
        data={**ACCOUNT, "bank_name": "Bank of China", "bank_account_number": "9558 8000 1111"},
    )
    client.post(f"/payout-details/{details.id}/delete")
    payout = reload(payout)
    assert payout.bank_name == "ICBC Qingdao Laoshan"
    assert payout.bank_account_number == "6222021234566789"

    # the manager who sends it sees the full number, there only
    login(people.managers["qingdao"])
    queue = client.get("/manage/payments")
    assert "6222021234566789" in page(queue)


def test_someone_elses_saved_details_cannot_be_chosen(client, login, people, released):
    theirs = save(people.outsider, people.outsider)
    login(people.solver)
    before = stored_counts()
    response = client.post(
        f"/contracts/{released.id}/payouts/payee", data={"details_id": str(theirs.id)}
    )
    assert response.status_code == 403
    assert form_errors(response) == {
        "details_id": ["Choose one of the saved accounts of the payee."]
    }
    assert "6789" not in page(response)
    assert stored_counts() == before
    with pytest.raises(NotAllowed, match="saved accounts of the payee"), transaction():
        payouts.request_payout(people.solver, released, "payee", details_id=theirs.id)


def test_an_organizations_details_are_chosen_by_its_members_only(
    client, login, people, award, make_user
):
    contract = award((500_000,), brokerage_bps=1000)
    (milestone,) = contract.milestones
    fund(milestone, people.owner, people.managers["qingdao"])
    deliver(people.broker, milestone)
    accept(people.owner, milestone)
    institute_account = save(people.professor, people.institute)
    # the agency's broker draws the agency's brokerage, never to the institute's account
    with pytest.raises(NotAllowed), transaction():
        payouts.request_payout(people.broker, contract, "agency", details_id=institute_account.id)
    with transaction():
        payout = payouts.request_payout(
            people.professor, contract, "payee", details_id=institute_account.id
        )
    assert payout.bank_account_number == "6222021234566789"
    assert payout.status == PayoutStatus.REQUESTED


def test_a_typed_payout_number_is_checked_at_its_field(client, login, people, released):
    login(people.solver)
    before = stored_counts()
    response = client.post(
        f"/contracts/{released.id}/payouts/payee", data={**BANK, "bank_account_number": "12ab"}
    )
    assert response.status_code == 400
    assert form_errors(response) == {"bank_account_number": ["An account number has digits only."]}
    (form,) = parse(response).find_all("form", testid="payout-request")
    typed = {i.attrs["name"]: i.attrs.get("value", "") for i in form.find_all("input")}
    assert typed["bank_account_number"] == "12ab"
    assert stored_counts() == before


def test_the_account_number_rule(people):
    assert payee_details.account_number("６２２２ ０２１２-3456 6789") == "6222021234566789"
    with pytest.raises(DomainError, match="digits only") as refusal:
        payee_details.account_number("DE89 3704 0044 0532 0130 00")
    assert refusal.value.field == "bank_account_number"


def test_a_member_chooses_the_organizations_accounts_but_does_not_manage_them(
    client, login, people, award, make_user
):
    contract = award((500_000,), brokerage_bps=1000)
    (milestone,) = contract.milestones
    fund(milestone, people.owner, people.managers["qingdao"])
    deliver(people.broker, milestone)
    accept(people.owner, milestone)
    member = make_user(name="Accountant of the institute")
    add_member(member, people.institute, Role.MEMBER)
    manage_url = f"/orgs/{people.institute.id}/payout-details"
    login(people.professor)  # the owner is offered the page to save one
    assert manage_url in page(client.get("/earnings"))
    login(member)
    assert manage_url not in page(client.get("/earnings"))

    save(people.professor, people.institute)
    earnings = client.get("/earnings")
    (choice,) = parse(earnings).find_all("select", testid="choose-details")
    assert "•••• 6789" in choice.text
    login(people.outsider)
    assert "6789" not in page(client.get("/earnings"))
