"""A refused form on the contract page comes back as the user typed it, with the message at its
field and a 4xx: a delivery note, a change request, a cancellation proposal, a message. Nothing
is stored; a step the page no longer offers gets an error page that says why."""

import pytest

from crowdsource.contracts import workflow
from crowdsource.contracts.models import ContractMessage, Delivery, MilestoneStatus
from crowdsource.db import transaction
from tests.contracts.test_deliveries import all_rows, post_delivery
from tests.helpers import form_errors, pdf_file, png_file, stored_files
from tests.payments.support import deliver, parse, reload

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")

NOTE = "Prototype v2 <b>and</b> the test report of 3 December."


def _typed(response, name, milestone=None):
    """The text the page shows in the textarea ``name`` (of ``milestone``'s form, by its id),
    whitespace collapsed, and whether the part of the page that holds it is open (None: the
    milestone has no such form)."""
    soup = parse(response)
    for details in soup.find_all("details"):
        for area in details.find_all("textarea"):
            if area.attrs.get("name") == name and (
                milestone is None or area.attrs.get("id", "").endswith(f"-{milestone.id}")
            ):
                return area.text, "open" in details.attrs
    if milestone is not None:
        return None
    (area,) = [area for area in soup.find_all("textarea") if area.attrs.get("name") == name]
    return area.text, True


def _collapsed(text):
    return " ".join(text.split())


def test_a_refused_file_keeps_the_delivery_note_and_says_why_at_the_files(
    client, db, login, people, funded, uploads
):
    login(people.solver)
    response = post_delivery(
        client, funded.milestone, note=NOTE, files=[pdf_file(), (png_file()[0], "x.exe")]
    )
    assert response.status_code == 400
    assert _typed(response, "note", funded.milestone) == (_collapsed(NOTE), True)
    (message,) = form_errors(response)["files"]
    assert "x.exe" in message
    # one note typed, in one form: the page shows it once
    assert response.get_data(as_text=True).count("3 December") == 1
    assert all_rows(Delivery) == [] and stored_files(uploads) == []
    assert reload(funded.milestone).status == MilestoneStatus.FUNDED


def test_a_too_long_delivery_note_is_kept_with_the_message_at_the_note(
    client, db, login, people, funded, uploads
):
    login(people.solver)
    note = "x" * 5001
    response = post_delivery(client, funded.milestone, note=note)
    assert response.status_code == 400
    assert _typed(response, "note", funded.milestone) == (note, True)
    assert form_errors(response)["note"]
    assert all_rows(Delivery) == []


def test_a_blank_delivery_note_gets_its_message_at_the_note(client, db, login, people, funded):
    login(people.solver)
    response = post_delivery(client, funded.milestone, note="   ")
    assert response.status_code == 400
    assert form_errors(response)["note"]
    assert reload(funded.milestone).status == MilestoneStatus.FUNDED


def test_a_too_long_change_request_is_kept_at_its_milestone(client, db, login, people, funded):
    deliver(people.solver, funded.milestone)
    login(people.owner)
    reason = "Please redo the load test. " * 80  # over 2,000 characters
    response = client.post(f"/milestones/{funded.milestone.id}/changes", data={"reason": reason})
    assert response.status_code == 400
    assert _typed(response, "reason", funded.milestone) == (_collapsed(reason), True)
    assert form_errors(response)["reason"]
    assert reload(funded.milestone).status == MilestoneStatus.SUBMITTED


def test_a_blank_cancellation_reason_is_refused_at_the_reason(client, db, login, people, funded):
    login(people.owner)
    response = client.post(
        f"/contracts/{funded.contract.id}/cancellation/propose", data={"reason": " "}
    )
    assert response.status_code == 400
    assert form_errors(response)["reason"]
    assert reload(funded.contract).cancel_requested_by is None


def test_a_long_cancellation_reason_is_kept_as_typed(client, db, login, people, funded):
    login(people.owner)
    reason = "We changed our plans. " * 100
    response = client.post(
        f"/contracts/{funded.contract.id}/cancellation/propose", data={"reason": reason}
    )
    assert response.status_code == 400
    assert _typed(response, "reason")[0] == _collapsed(reason)
    assert reload(funded.contract).cancel_requested_by is None


def test_a_step_the_page_no_longer_offers_gets_an_error_page_with_the_reason(
    client, db, login, people, funded
):
    with transaction():
        workflow.request_cancellation(people.owner, funded.contract, "We changed our plans.")
    login(people.owner)
    response = client.post(
        f"/contracts/{funded.contract.id}/cancellation/propose", data={"reason": "Again."}
    )
    assert response.status_code == 409
    assert "reason" not in form_errors(response)
    assert reload(funded.contract).cancel_reason == "We changed our plans."


@pytest.mark.parametrize("body", ["A question about the report.", "x" * 10_001])
def test_a_refused_message_keeps_what_was_written(client, db, login, people, funded, uploads, body):
    login(people.owner)
    response = client.post(
        f"/contracts/{funded.contract.id}/messages",
        data={"body": body, "files": [(png_file()[0], "virus.exe")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert _typed(response, "body")[0] == _collapsed(body)
    errors = form_errors(response)
    assert ("body" in errors) == (len(body) > 10_000)
    assert ("files" in errors) == (len(body) <= 10_000)
    assert all_rows(ContractMessage) == [] and stored_files(uploads) == []


def test_a_manager_who_posts_a_message_is_refused_on_an_error_page(
    client, db, login, people, funded
):
    login(people.managers["qingdao"])
    response = client.post(
        f"/contracts/{funded.contract.id}/messages", data={"body": "Hello from the center."}
    )
    assert response.status_code == 403
    assert "Only the parties" in response.get_data(as_text=True)
    assert all_rows(ContractMessage) == []
