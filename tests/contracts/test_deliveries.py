"""Deliveries: the solver's side hands in a milestone with a note and files; every delivery is
kept and shown under its milestone; refused files leave nothing behind."""

import datetime as dt

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from crowdsource.contracts import deliveries, workflow
from crowdsource.contracts.models import ContractFile, Delivery, MilestoneStatus
from crowdsource.db import db, transaction
from tests.helpers import PDF, pdf_file, png_file, stored_files
from tests.payments.support import assert_ledger_check_passes, page, parse, reload

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")


def post_delivery(client, milestone, note="Prototype and test report attached.", files=()):
    return client.post(
        f"/milestones/{milestone.id}/deliver",
        data={"note": note, "files": list(files)},
        content_type="multipart/form-data",
    )


def all_rows(model):
    """Every stored row of ``model``, oldest first."""
    return db.session.scalars(sa.select(model).order_by(model.id)).all()


def test_a_delivery_with_files_is_recorded_on_time_and_shown_under_its_milestone(
    app, client, db, login, people, funded, uploads
):
    login(people.solver)
    response = post_delivery(client, funded.milestone, files=[pdf_file(), png_file()])
    assert response.status_code == 302

    milestone = reload(funded.milestone)
    assert milestone.status == MilestoneStatus.SUBMITTED
    (delivery,) = all_rows(Delivery)
    assert delivery.milestone_id == milestone.id and delivery.author_id == people.solver.id
    assert delivery.note == "Prototype and test report attached." and delivery.on_time
    assert sorted(f.original_name for f in delivery.files) == ["photo.png", "report.pdf"]
    assert all(f.contract_id == funded.contract.id for f in delivery.files)
    assert len(stored_files(uploads)) == 2

    login(people.owner)
    shown = parse(client.get(f"/contracts/{funded.contract.id}"))
    (listed,) = shown.find_all(testid="delivery")
    assert "Prototype and test report attached." in listed.text
    assert listed.find_all(testid="delivery-timing")[0].text == "on time"
    links = {a.text: a.attrs["href"] for a in listed.find_all(testid="delivery-file")}
    assert set(links) == {"report.pdf", "photo.png"}
    download = client.get(links["report.pdf"])
    assert download.status_code == 200 and download.data == PDF
    assert "report.pdf" in download.headers["Content-Disposition"]
    assert_ledger_check_passes(app)


def test_a_delivery_after_the_due_date_is_marked_late(client, db, login, people, funded):
    after_due = dt.datetime.combine(
        funded.milestone.due_date + dt.timedelta(days=2), dt.time(3, 0), tzinfo=dt.UTC
    )
    with transaction():
        delivery = deliveries.deliver(
            people.solver, funded.milestone.id, "Late, but complete.", [], now=after_due
        )
    assert delivery.on_time is False and delivery.files == []
    login(people.owner)
    shown = parse(client.get(f"/contracts/{funded.contract.id}"))
    assert [t.text for t in shown.find_all(testid="delivery-timing")] == ["late"]


def test_a_delivery_on_the_due_date_in_china_is_on_time(db, people, funded):
    # 23:30 in Shanghai on the due date is 15:30 UTC the same day
    late_evening = dt.datetime.combine(funded.milestone.due_date, dt.time(15, 30), tzinfo=dt.UTC)
    with transaction():
        delivery = deliveries.deliver(people.solver, funded.milestone.id, "Done.", [], late_evening)
    assert delivery.on_time is True


def test_a_file_of_a_refused_type_is_refused_with_a_reason_and_nothing_is_stored(
    client, db, login, people, funded, uploads
):
    login(people.solver)
    response = post_delivery(client, funded.milestone, files=[pdf_file(), (png_file()[0], "x.exe")])
    assert response.status_code == 400
    assert "x.exe" in page(response) and "Attach PDF, images" in page(response)
    assert all_rows(Delivery) == [] and all_rows(ContractFile) == []
    assert reload(funded.milestone).status == MilestoneStatus.FUNDED
    assert stored_files(uploads) == []


def test_files_written_for_a_delivery_that_rolls_back_are_removed(db, people, funded, uploads):
    """The files are written before their rows are stored: when a later step of the same
    action fails, the transaction rolls back and the files go with them."""
    milestone = funded.milestone
    with pytest.raises(RuntimeError), transaction():
        upload = FileStorage(*pdf_file())
        deliveries.deliver(people.solver, milestone.id, "Report attached.", [upload])
        assert len(stored_files(uploads)) == 1
        raise RuntimeError("the next step of the action failed")
    assert stored_files(uploads) == []
    assert all_rows(ContractFile) == [] and all_rows(Delivery) == []


def test_a_file_whose_content_does_not_match_its_name_is_refused(
    client, db, login, people, funded, uploads
):
    login(people.solver)
    response = post_delivery(client, funded.milestone, files=[pdf_file(content=b"MZ not a pdf")])
    assert response.status_code == 400
    assert "does not match its name" in page(response)
    assert all_rows(Delivery) == [] and stored_files(uploads) == []
    assert reload(funded.milestone).status == MilestoneStatus.FUNDED


def test_a_delivery_without_a_note_is_refused(client, db, login, people, funded, uploads):
    login(people.solver)
    response = post_delivery(client, funded.milestone, note="", files=[pdf_file()])
    assert response.status_code == 400
    assert all_rows(Delivery) == [] and stored_files(uploads) == []


def test_only_the_solvers_side_delivers(client, db, login, people, funded, uploads):
    login(people.owner)
    assert post_delivery(client, funded.milestone, files=[pdf_file()]).status_code == 403
    login(people.outsider)
    assert post_delivery(client, funded.milestone, files=[pdf_file()]).status_code == 404
    login(people.managers["qingdao"])
    assert post_delivery(client, funded.milestone, files=[pdf_file()]).status_code == 403
    assert all_rows(Delivery) == [] and stored_files(uploads) == []
    assert reload(funded.milestone).status == MilestoneStatus.FUNDED


def test_an_unfunded_milestone_cannot_be_delivered(client, db, login, people, funded, uploads):
    login(people.solver)
    response = post_delivery(client, funded.second, files=[pdf_file()])
    assert response.status_code == 409
    assert all_rows(Delivery) == [] and stored_files(uploads) == []


def test_every_delivery_is_kept_when_changes_are_requested(
    app, client, db, login, people, funded, uploads
):
    login(people.solver)
    post_delivery(client, funded.milestone, note="First version.", files=[pdf_file("v1.pdf")])
    with transaction():
        workflow.request_changes(people.owner, funded.milestone.id, "Add the test data.")
    post_delivery(client, funded.milestone, note="With the test data.", files=[pdf_file("v2.pdf")])

    rows = all_rows(Delivery)
    assert [d.note for d in rows] == ["First version.", "With the test data."]
    assert [[f.original_name for f in d.files] for d in rows] == [["v1.pdf"], ["v2.pdf"]]
    login(people.owner)
    shown = parse(client.get(f"/contracts/{funded.contract.id}"))
    listed = shown.find_all(testid="delivery")
    assert ["First version." in d.text for d in listed] == [True, False]
    assert "With the test data." in listed[1].text
    history = shown.find_all(testid="history")[0].text
    assert "Add the test data." in history
    assert_ledger_check_passes(app)


def test_delivery_files_are_downloaded_only_by_those_who_may_see_the_contract(
    client, db, login, people, funded, uploads
):
    login(people.solver)
    post_delivery(client, funded.milestone, files=[pdf_file()])
    (record,) = all_rows(ContractFile)
    url = f"/contract-files/{record.id}"
    for user, status in [
        (people.owner, 200),
        (people.solver, 200),
        (people.managers["qingdao"], 200),
        (people.managers["shandong"], 200),
        (people.managers["zibo"], 404),
        (people.outsider, 404),
        (people.zibo_owner, 404),
    ]:
        login(user)
        assert client.get(url).status_code == status, user.email
    client.post("/logout")
    assert client.get(url).status_code == 302  # to the login page
