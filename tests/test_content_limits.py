"""Content rate limits: questions, answers, messages, bids, uploads and registrations are
limited per account and per client address; generous for people, fatal for scripts. A burst is
refused with a 429 that says when to try again, and the form comes back as it was typed."""

import io

import pytest
import sqlalchemy as sa

from crowdsource.accounts.models import User
from crowdsource.bids.models import Bid
from crowdsource.config import CONTENT_RATE_LIMITS
from crowdsource.contracts.models import ContractMessage
from crowdsource.db import db
from crowdsource.tasks.models import Question, TaskAttachment
from tests.bids.support import bid_form
from tests.helpers import PDF

OFFICE = "198.51.100.20"


@pytest.fixture
def limits_on(app, monkeypatch):
    """The content limits as a fresh production configuration has them."""
    for name, value in CONTENT_RATE_LIMITS.items():
        monkeypatch.setitem(app.config, name, value)


@pytest.fixture
def task(make_user, make_org, make_task):
    owner = make_user(name="Li Wei", email="owner@example.com")
    return make_task(owner, make_org(owner), title="Solder joint inspection")


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def ask(client, task, number):
    return client.post(f"/tasks/{task.id}/questions", data={"body": f"Question number {number}?"})


def test_fifty_questions_in_a_minute_from_one_account_are_refused_past_the_limit(
    client, login, make_user, task, limits_on, clock
):
    clock.freeze()
    login(make_user(email="asker@example.com"))
    statuses = [ask(client, task, number).status_code for number in range(50)]
    assert statuses == [302] * 5 + [429] * 45
    assert _count(Question) == 5
    refused = ask(client, task, 51)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    page = refused.get_data(as_text=True)
    assert "You have asked many questions in a short time." in page
    assert "Question number 51?" in page  # the form as typed
    clock.advance(minutes=1, seconds=1)
    assert ask(client, task, 52).status_code == 302


def test_questions_from_many_accounts_behind_one_address_meet_the_address_limit(
    app, client, login, make_user, task, limits_on, clock
):
    clock.freeze()
    client.environ_base["REMOTE_ADDR"] = OFFICE
    statuses = []
    for number in range(6):  # six accounts, four questions each: within their own limits
        client.post("/logout")
        login(make_user(email=f"asker{number}@example.com"))
        statuses += [ask(client, task, number * 10 + turn).status_code for turn in range(4)]
    assert statuses == [302] * 20 + [429] * 4
    assert _count(Question) == 20
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"  # the same account elsewhere
    assert ask(client, task, 99).status_code == 302


def test_a_persons_normal_pace_is_never_refused(client, login, make_user, task, limits_on, clock):
    login(make_user(email="asker@example.com"))
    for number in range(40):  # a question every three minutes for two hours
        assert ask(client, task, number).status_code == 302
        clock.advance(minutes=3)
    assert _count(Question) == 40


def test_answers_past_the_limit_come_back_as_typed(
    app, client, login, make_user, task, monkeypatch
):
    monkeypatch.setitem(app.config, "RATE_LIMIT_ANSWERS_PER_ACCOUNT", "2 per minute")
    login(make_user(email="asker@example.com"))
    for number in range(3):
        ask(client, task, number)
    client.post("/logout")
    login(task.organization.memberships[0].user)
    ids = list(db.session.scalars(sa.select(Question.id).order_by(Question.id)))
    statuses = [
        client.post(f"/questions/{qid}/answer", data={"answer": f"Answer {qid}"}).status_code
        for qid in ids
    ]
    assert statuses == [302, 302, 429]


def test_contract_messages_past_the_limit_come_back_as_typed(
    app, client, login, people, award, monkeypatch
):
    monkeypatch.setitem(app.config, "RATE_LIMIT_MESSAGES_PER_ACCOUNT", "2 per minute")
    contract = award()
    login(people.solver)
    statuses = [
        client.post(
            f"/contracts/{contract.id}/messages",
            data={"body": f"Message {number}", "files": []},
            content_type="multipart/form-data",
        )
        for number in range(3)
    ]
    assert [response.status_code for response in statuses] == [302, 302, 429]
    assert "Message 2" in statuses[-1].get_data(as_text=True)
    assert _count(ContractMessage) == 2


def test_bids_past_the_limit_come_back_as_typed(
    app, client, login, make_user, make_org, make_task, monkeypatch
):
    monkeypatch.setitem(app.config, "RATE_LIMIT_BIDS_PER_ADDRESS", "2 per minute")
    owner = make_user(email="owner@example.com")
    enterprise = make_org(owner)
    tasks = [make_task(owner, enterprise, title=f"Task {number}") for number in range(3)]
    login(make_user(email="bidder@example.com"))
    responses = [
        client.post(f"/tasks/{each.id}/bid", data=bid_form(proposal=f"Proposal {each.id}"))
        for each in tasks
    ]
    assert [response.status_code for response in responses] == [302, 302, 429]
    assert f"Proposal {tasks[2].id}" in responses[-1].get_data(as_text=True)
    assert _count(Bid) == 2


def test_uploads_past_the_limit_are_refused_and_leave_no_file(
    app, client, login, task, uploads, monkeypatch
):
    monkeypatch.setitem(app.config, "RATE_LIMIT_UPLOADS_PER_ACCOUNT", "2 per minute")
    login(task.organization.memberships[0].user)
    statuses = [
        client.post(
            f"/tasks/{task.id}/attachments",
            data={"file": (io.BytesIO(PDF), f"drawing{number}.pdf")},
        ).status_code
        for number in range(3)
    ]
    assert statuses == [302, 302, 429]
    assert _count(TaskAttachment) == 2


def test_registrations_from_one_address_past_the_limit_keep_what_was_typed(
    app, client, monkeypatch
):
    monkeypatch.setitem(app.config, "RATE_LIMIT_REGISTRATIONS_PER_ADDRESS", "2 per hour")
    responses = []
    for number in range(3):
        client.post("/logout")
        data = {
            "email": f"new{number}@example.com",
            "display_name": f"Newcomer {number}",
            "password": "a sturdy passphrase",
            "confirm": "a sturdy passphrase",
            "locale": "en",
        }
        responses.append(client.post("/register", data=data))
    assert [response.status_code for response in responses] == [302, 302, 429]
    assert "new2@example.com" in responses[-1].get_data(as_text=True)
    assert _count(User) == 2
