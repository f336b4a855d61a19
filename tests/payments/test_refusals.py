"""A refused confirmation of a bank transfer keeps what the manager typed: the managers' page
comes back with the amount and the reference as typed, the reason at the amount, under a 4xx,
and nothing is stored."""

import re

import pytest

from crowdsource.db import transaction
from crowdsource.payments import funding as fundings
from crowdsource.payments.models import FundingStatus
from tests.helpers import form_errors
from tests.payments.support import balances, page, reload, stored_counts

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")


def start(milestone, owner):
    with transaction():
        return fundings.start_funding(owner, milestone)


def typed(response, field_id):
    """The value the input ``field_id`` of the page holds."""
    match = re.search(rf'<input[^>]*id="{field_id}"[^>]*>', page(response))
    assert match, f"no input {field_id}"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def test_a_wrong_transfer_amount_comes_back_as_typed_with_the_reason_at_the_amount(
    client, login, people, award
):
    contract = award([300_000])
    funding = start(contract.milestones[0], people.owner)
    login(people.managers["qingdao"])
    before = stored_counts()

    response = client.post(
        f"/fundings/{funding.id}/confirm",
        data={"amount": "2999.99", "bank_reference": "ICBC-20261202-77"},
    )

    assert response.status_code == 400
    assert "Payments to handle" in page(response)  # the managers' page, not an error page
    assert typed(response, f"amount-{funding.id}") == "2999.99"
    assert typed(response, f"ref-{funding.id}") == "ICBC-20261202-77"
    assert form_errors(response) == {
        "amount": [
            "The amount received (¥2,999.99) is not the amount due (¥3,000.00). "
            "Nothing has been recorded."
        ]
    }
    assert stored_counts() == before and balances() == {}
    assert reload(funding).status == FundingStatus.PENDING


def test_a_transfer_amount_that_is_no_amount_comes_back_with_the_form_s_message(
    client, login, people, award
):
    contract = award([300_000])
    funding = start(contract.milestones[0], people.owner)
    login(people.managers["qingdao"])
    before = stored_counts()

    response = client.post(
        f"/fundings/{funding.id}/confirm", data={"amount": "3000,5", "bank_reference": "ICBC-1"}
    )

    assert response.status_code == 400
    assert typed(response, f"amount-{funding.id}") == "3000,5"
    assert list(form_errors(response)) == ["amount"]
    assert stored_counts() == before


def test_a_transfer_recorded_meanwhile_is_a_409_on_the_managers_page(client, login, people, award):
    contract = award([300_000])
    funding = start(contract.milestones[0], people.owner)
    login(people.managers["qingdao"])
    data = {"amount": "3000", "bank_reference": "ICBC-1"}
    assert client.post(f"/fundings/{funding.id}/confirm", data=data).status_code == 302
    before = stored_counts()

    again = client.post(f"/fundings/{funding.id}/confirm", data=data)

    assert again.status_code == 409
    assert "Payments to handle" in page(again)
    assert re.search(r"data-form-error>This transfer has already been recorded.<", page(again))
    assert stored_counts() == before
