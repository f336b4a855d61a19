"""Notifications of one kind to one person are gathered into one digest past a threshold: a
flood of questions (or answers) gives the reader a few notifications and one digest, not one
each; the notification list is paged."""

import pytest
import sqlalchemy as sa

from crowdsource.db import db, transaction
from crowdsource.notifications import messages
from crowdsource.notifications.models import Kind, Notification
from crowdsource.tasks import questions


@pytest.fixture
def digests_after_three(app, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFICATION_DIGEST_AFTER", 3)
    monkeypatch.setitem(app.config, "NOTIFICATION_DIGEST_MINUTES", 60)


@pytest.fixture
def task(make_user, make_org, make_task, add_member):
    owner = make_user(name="Li Wei", email="owner@example.com")
    enterprise = make_org(owner)
    add_member(make_user(name="Chen Jing", email="colleague@example.com"), enterprise)
    return make_task(owner, enterprise, title="Solder joint inspection")


def of(user, kind):
    query = (
        sa.select(Notification)
        .where(Notification.user_id == user.id, Notification.kind == kind)
        .order_by(Notification.id)
    )
    return db.session.scalars(query).all()


def test_a_flood_of_questions_gives_each_member_a_few_notifications_and_one_digest(
    task, make_user, digests_after_three
):
    asker = make_user(email="asker@example.com")
    for number in range(10):
        with transaction():
            questions.ask(asker, task, f"Question number {number}?")
    for membership in task.organization.memberships:
        rows = of(membership.user, Kind.QUESTION_ASKED)
        assert len(rows) == 4
        *single, digest = rows
        assert [messages.detail(row) for row in single] == [
            f"Question: Question number {number}?" for number in range(3)
        ]
        assert messages.subject(digest) == (
            "New question on “Solder joint inspection” — and 6 more like it"
        )
        assert messages.detail(digest) == "Question: Question number 9?"  # the latest
        assert digest.link.endswith(f"#question-{questions.visible_questions(asker, task)[-1].id}")


def test_answers_past_the_threshold_are_mailed_once_as_a_digest(
    task, make_user, outbox, digests_after_three
):
    asker = make_user(email="asker@example.com")
    with transaction():
        asked = [questions.ask(asker, task, f"Question {number}?") for number in range(8)]
    owner = task.organization.memberships[0].user
    for question in asked:
        with transaction():
            questions.answer(owner, question, f"Answer to {question.body}")
    assert len(of(asker, Kind.QUESTION_ANSWERED)) == 4
    mails = [message for message in outbox if message.to == [asker.email]]
    assert len(mails) == 4
    assert "gathered into this one on your notifications page" in mails[-1].body
    digest = of(asker, Kind.QUESTION_ANSWERED)[-1]
    assert messages.subject(digest) == (
        "Your question on “Solder joint inspection” was answered — and 4 more like it"
    )


def test_after_the_window_notifications_come_one_by_one_again(
    task, make_user, digests_after_three, clock
):
    asker = make_user(email="asker@example.com")
    for number in range(5):
        with transaction():
            questions.ask(asker, task, f"Question {number}?")
    clock.advance(minutes=61)
    with transaction():
        questions.ask(asker, task, "A question the next day?")
    owner = task.organization.memberships[0].user
    rows = of(owner, Kind.QUESTION_ASKED)
    assert len(rows) == 5  # three, a digest of two, and the new one on its own
    assert messages.detail(rows[-1]) == "Question: A question the next day?"
    assert messages.subject(rows[-1]) == "New question on “Solder joint inspection”"


def test_without_a_threshold_every_notification_is_its_own(task, make_user):
    asker = make_user(email="asker@example.com")
    for number in range(6):
        with transaction():
            questions.ask(asker, task, f"Question {number}?")
    assert len(of(task.organization.memberships[0].user, Kind.QUESTION_ASKED)) == 6


def test_the_notification_list_is_paged(client, login, task, make_user):
    asker = make_user(email="asker@example.com")
    with transaction():
        for number in range(35):
            questions.ask(asker, task, f"Question {number}?")
    login(task.organization.memberships[0].user)
    first = client.get("/notifications").get_data(as_text=True)
    assert first.count('data-testid="notification"') == 30
    assert "Question: Question 34?" in first and "Question: Question 4?" not in first
    second = client.get("/notifications?page=2").get_data(as_text=True)
    assert second.count('data-testid="notification"') == 5
    assert "Question: Question 0?" in second
    for page in ("999999", "10000000000000000000000", "0", "-3", "x"):
        response = client.get(f"/notifications?page={page}")
        assert response.status_code in (200, 400, 404), page
