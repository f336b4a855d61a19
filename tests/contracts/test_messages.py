"""Messages on a contract: the parties write (with files), the other side is notified, the
center's managers read along, nobody else sees or writes them."""

import pytest
import sqlalchemy as sa

from crowdsource.contracts import messages
from crowdsource.contracts.models import ContractFile, ContractMessage
from crowdsource.db import transaction
from crowdsource.errors import NotAllowed
from crowdsource.notifications.models import Kind, Notification
from tests.helpers import pdf_file, stored_files
from tests.payments.support import page, parse

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")


def post_message(client, contract, body="When can we test on the line?", files=()):
    return client.post(
        f"/contracts/{contract.id}/messages",
        data={"body": body, "files": list(files)},
        content_type="multipart/form-data",
    )


def stored_messages(db):
    return db.session.scalars(sa.select(ContractMessage).order_by(ContractMessage.id)).all()


def notified(db, kind=Kind.CONTRACT_MESSAGE):
    rows = db.session.scalars(sa.select(Notification).where(Notification.kind == kind))
    return {(row.user_id, row.params["author"], row.params["number"], row.link) for row in rows}


def test_the_solver_writes_with_a_file_and_the_enterprise_is_notified(
    client, db, login, people, funded, uploads
):
    contract = funded.contract
    login(people.solver)
    response = post_message(client, contract, files=[pdf_file("schedule.pdf")])
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/contracts/{contract.id}#messages")

    (message,) = stored_messages(db)
    assert message.author_id == people.solver.id
    assert message.body == "When can we test on the line?"
    assert [f.original_name for f in message.files] == ["schedule.pdf"]
    assert len(stored_files(uploads)) == 1
    link = f"/contracts/{contract.id}#messages"
    assert notified(db) == {(people.owner.id, "Zhao Lei", contract.number, link)}

    for reader in (people.owner, people.solver, people.managers["qingdao"]):
        login(reader)
        shown = parse(client.get(f"/contracts/{contract.id}"))
        (listed,) = shown.find_all(testid="message")
        assert "When can we test on the line?" in listed.text and "Zhao Lei" in listed.text
        (attached,) = listed.find_all(testid="message-file")
        assert client.get(attached.attrs["href"]).status_code == 200
        assert "Message on the contract" in shown.find_all(testid="history")[0].text


def test_the_enterprise_answers_and_the_solver_is_notified(db, people, funded):
    with transaction():
        messages.post_message(people.owner, funded.contract, "Next Tuesday.", [])
    assert {row[0] for row in notified(db)} == {people.solver.id}


def test_an_agency_contract_notifies_the_agency_members(db, people, award):
    contract = award(brokerage_bps=1000)
    with transaction():
        messages.post_message(people.owner, contract, "Please send the invoice.", [])
    assert {row[0] for row in notified(db)} == {people.broker.id}
    with transaction():
        messages.post_message(people.broker, contract, "Sent.", [])
    assert {row[0] for row in notified(db)} == {people.broker.id, people.owner.id}


def test_a_manager_reads_but_does_not_write(client, db, login, people, funded, uploads):
    login(people.managers["qingdao"])
    shown = parse(client.get(f"/contracts/{funded.contract.id}"))
    assert shown.find_all(testid="messages") and not shown.find_all(testid="message-form")
    response = post_message(client, funded.contract, files=[pdf_file()])
    assert response.status_code == 403
    assert stored_messages(db) == [] and stored_files(uploads) == []
    with pytest.raises(NotAllowed):
        messages.post_message(people.managers["qingdao"], funded.contract, "Hello", [])


def test_an_outsider_neither_reads_nor_writes(client, db, login, people, funded, uploads):
    with transaction():
        messages.post_message(people.owner, funded.contract, "Internal schedule.", [])
    for outsider in (people.outsider, people.zibo_owner, people.managers["zibo"]):
        login(outsider)
        assert client.get(f"/contracts/{funded.contract.id}").status_code == 404
        assert post_message(client, funded.contract).status_code == 404
    assert len(stored_messages(db)) == 1


def test_an_empty_message_or_a_refused_file_stores_nothing(
    client, db, login, people, funded, uploads
):
    login(people.solver)
    assert post_message(client, funded.contract, body="   ").status_code == 400
    response = post_message(client, funded.contract, files=[pdf_file("notes.txt")])
    assert response.status_code == 400 and "notes.txt" in page(response)
    assert stored_messages(db) == [] and stored_files(uploads) == []
    assert db.session.scalar(sa.select(sa.func.count(ContractFile.id))) == 0
    assert notified(db) == set()


def test_a_message_without_the_csrf_token_is_refused(client, db, login, people, funded):
    login(people.solver)
    response = client.post(
        f"/contracts/{funded.contract.id}/messages", data={"body": "Hi"}, csrf=False
    )
    assert response.status_code == 400
    assert stored_messages(db) == []


def test_messages_are_shown_oldest_first_with_markdown_made_safe(client, db, login, people, funded):
    with transaction():
        messages.post_message(people.owner, funded.contract, "**First** question", [])
    with transaction():
        messages.post_message(
            people.solver, funded.contract, "Answer <script>alert(1)</script>", []
        )
    login(people.owner)
    response = client.get(f"/contracts/{funded.contract.id}")
    listed = parse(response).find_all(testid="message")
    assert ["First question" in m.text for m in listed] == [True, False]
    assert "<strong>First</strong>" in page(response)
    assert "<script>alert(1)" not in page(response)
