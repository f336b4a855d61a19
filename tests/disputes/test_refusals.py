"""A refused ruling keeps what the manager typed: the case page comes back with the amounts
and the written reasons as typed, the reason of the refusal at its field, under a 4xx, and
nothing is stored."""

import html
import re

import pytest

from crowdsource.db import transaction
from crowdsource.disputes import services
from tests.helpers import form_errors
from tests.payments.support import page, reload, stored_counts

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")

REASONS = "The model meets the test set\nbut not the line's lighting <at night>."


def under_review(people, case):
    with transaction():
        dispute = services.open_dispute(people.owner, case.milestone.id, "It misses defects.")
    with transaction():
        services.respond(people.broker, dispute.id, "It meets the agreed 95 % on the test set.")
    with transaction():
        services.take(people.managers["qingdao"], dispute.id)
    return dispute


def ruling_form(response):
    """The ruling form of the case page."""
    match = re.search(
        r'<section class="card h-100" data-testid="ruling-form">.*?</form>', page(response), re.S
    )
    assert match, "no ruling form on the page"
    return match.group(0)


def typed_reasons(form):
    (text,) = re.findall(r'<textarea[^>]*name="reason"[^>]*>(.*?)</textarea>', form, re.S)
    return html.unescape(text).removeprefix("\r\n").replace("\r\n", "\n")


def test_a_ruling_that_does_not_add_up_comes_back_with_its_reasons_as_typed(
    client, login, people, case
):
    dispute = under_review(people, case)
    login(people.managers["qingdao"])
    before = stored_counts()

    response = client.post(
        f"/disputes/{dispute.id}/rule",
        data={"release": "6000", "refund": "4000", "reason": REASONS},
    )

    assert response.status_code == 400
    form = ruling_form(response)
    assert 'value="6000"' in form and 'value="4000"' in form
    assert typed_reasons(form) == REASONS
    assert form_errors(response) == {
        "release": ["The amounts must add up to the disputed escrow, ¥10,100.00."]
    }
    assert str(reload(dispute).status) == "under_review"
    assert not reload(dispute).rulings
    assert stored_counts() == before


def test_a_ruling_without_reasons_keeps_the_amounts_typed(client, login, people, case):
    dispute = under_review(people, case)
    login(people.managers["qingdao"])
    before = stored_counts()

    response = client.post(
        f"/disputes/{dispute.id}/rule", data={"release": "6060", "refund": "4040", "reason": " "}
    )

    assert response.status_code == 400
    form = ruling_form(response)
    assert 'value="6060"' in form and 'value="4040"' in form
    assert list(form_errors(response)) == ["reason"]
    assert str(reload(dispute).status) == "under_review"
    assert stored_counts() == before
