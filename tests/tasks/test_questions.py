"""Clarification questions: solvers ask, the enterprise answers; answers are public, the asker's
name is not; unanswered questions stay between the asker and the enterprise."""

import html
import re

import pytest
import sqlalchemy as sa

from crowdsource.db import db, transaction
from crowdsource.errors import DomainError
from crowdsource.tasks import questions, services
from crowdsource.tasks.models import Question
from tests.helpers import form_errors, table_counts
from tests.tasks.helpers import notifications_of


@pytest.fixture
def people(make_user, make_org, make_task, add_member):
    owner = make_user(name="Li Wei", email="owner@example.com")
    colleague = make_user(name="Chen Jing", email="colleague@example.com")
    enterprise = make_org(owner)
    add_member(colleague, enterprise)
    task = make_task(owner, enterprise, title="Solder joint inspection")
    return {
        "task": task,
        "owner": owner,
        "colleague": colleague,
        "asker": make_user(name="Zhao Lei", email="asker@example.com"),
        "other": make_user(name="Wang Fang", email="other@example.com"),
    }


def task_page(client, task):
    response = client.get(f"/tasks/{task.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def ask(client, login, people, body="Which camera do you use today?"):
    login(people["asker"])
    response = client.post(f"/tasks/{people['task'].id}/questions", data={"body": body})
    assert response.status_code == 302
    return db.session.scalar(sa.select(Question).order_by(Question.id.desc()))


def test_a_solver_asks_and_the_enterprise_is_told(client, db, login, people, outbox):
    task = people["task"]
    question = ask(client, login, people)
    assert question.asker_id == people["asker"].id
    assert question.body == "Which camera do you use today?" and question.answer is None
    for member in ("owner", "colleague"):
        (notification,) = notifications_of(people[member], "question_asked")
        assert notification.link == f"/tasks/{task.id}#question-{question.id}"
        assert notification.params["question"] == "Which camera do you use today?"
    assert notifications_of(people["asker"]) == []
    login(people["owner"])
    listing = client.get("/notifications").get_data(as_text=True)
    assert "New question on “Solder joint inspection”" in listing


def test_the_enterprise_answers_and_the_asker_is_told_and_mailed(client, db, login, people, outbox):
    question = ask(client, login, people)
    login(people["colleague"])
    outbox.clear()
    response = client.post(f"/questions/{question.id}/answer", data={"answer": "A Basler ace."})
    assert response.status_code == 302
    db.session.refresh(question)
    assert question.answer == "A Basler ace."
    assert question.answered_by_id == people["colleague"].id
    (notification,) = notifications_of(people["asker"], "question_answered")
    assert notification.params["answer"] == "A Basler ace."
    (mail,) = outbox
    assert mail.to == ["asker@example.com"]
    assert "Solder joint inspection" in mail.subject and "A Basler ace." in mail.body
    assert f"/tasks/{people['task'].id}#question-{question.id}" in mail.body


def test_an_answered_question_is_public_but_the_asker_stays_anonymous(client, db, login, people):
    question = ask(client, login, people)
    with transaction():
        questions.answer(people["owner"], question, "A Basler ace.")

    login(people["other"])
    page = task_page(client, people["task"])
    assert "Which camera do you use today?" in page and "A Basler ace." in page
    assert "A solver" in page
    assert "Zhao Lei" not in page and "asker@example.com" not in page
    client.post("/logout")
    page = task_page(client, people["task"])
    assert "A Basler ace." in page and "Zhao Lei" not in page

    for viewer in ("owner", "asker"):
        login(people[viewer])
        page = task_page(client, people["task"])
        assert "A Basler ace." in page and "Zhao Lei" in page


def test_an_unanswered_question_is_seen_only_by_the_asker_and_the_enterprise(
    client, db, login, people
):
    ask(client, login, people, body="Is the line running three shifts?")
    for viewer in ("asker", "owner", "colleague"):
        login(people[viewer])
        assert "Is the line running three shifts?" in task_page(client, people["task"])
    login(people["other"])
    page = task_page(client, people["task"])
    assert "three shifts" not in page and "No questions yet." in page
    client.post("/logout")
    assert "three shifts" not in task_page(client, people["task"])


def test_enterprise_members_cannot_ask_on_their_own_task(client, db, login, people):
    login(people["owner"])
    assert 'name="body"' not in task_page(client, people["task"])
    before = table_counts()
    response = client.post(f"/tasks/{people['task'].id}/questions", data={"body": "Ourselves?"})
    assert response.status_code == 403
    assert table_counts() == before


def test_only_the_enterprise_can_answer(client, db, login, people, make_user, make_org):
    question = ask(client, login, people)
    other_enterprise = make_user()
    make_org(other_enterprise, name="Other Enterprise")
    for outsider in (people["asker"], people["other"], other_enterprise):
        login(outsider)
        response = client.post(f"/questions/{question.id}/answer", data={"answer": "Guess."})
        assert response.status_code == 403
    client.post("/logout")
    response = client.post(f"/questions/{question.id}/answer", data={"answer": "Guess."})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    db.session.refresh(question)
    assert question.answer is None
    assert notifications_of(people["asker"]) == []


def test_an_empty_question_or_answer_is_refused(client, db, login, people):
    login(people["asker"])
    before = table_counts()
    response = client.post(f"/tasks/{people['task'].id}/questions", data={"body": "   "})
    assert response.status_code == 400
    assert table_counts() == before
    question = ask(client, login, people)
    login(people["owner"])
    response = client.post(f"/questions/{question.id}/answer", data={"answer": ""})
    assert response.status_code == 400
    assert "This field is required." in response.get_data(as_text=True)
    db.session.refresh(question)
    assert question.answer is None


def test_questions_are_asked_only_while_the_task_is_open(client, db, login, people):
    with transaction():
        services.cancel_task(people["owner"], people["task"], "Budget frozen.")
    with pytest.raises(DomainError), transaction():
        questions.ask(people["asker"], people["task"], "Still on?")
    login(people["asker"])
    response = client.post(f"/tasks/{people['task'].id}/questions", data={"body": "Still on?"})
    assert response.status_code == 400
    assert db.session.scalars(sa.select(Question)).all() == []


def test_a_too_long_question_comes_back_as_typed_with_the_message_at_it(client, db, login, people):
    login(people["asker"])
    body = "Which camera do you use today? " * 200  # over 4,000 characters
    before = table_counts()
    response = client.post(f"/tasks/{people['task'].id}/questions", data={"body": body})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert form_errors(response)["body"]
    typed = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', page, re.S)
    assert typed and html.unescape(typed.group(1)).strip() == body.strip()
    assert table_counts() == before


def test_a_refused_answer_is_kept_under_its_own_question(client, db, login, people):
    first = ask(client, login, people)
    second = ask(client, login, people, body="And the frame rate?")
    login(people["owner"])
    text = "A 12 MP industrial camera. " * 160  # over 4,000 characters
    response = client.post(f"/questions/{second.id}/answer", data={"answer": text})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    typed = re.search(rf'<textarea[^>]*id="answer-{second.id}"[^>]*>(.*?)</textarea>', page, re.S)
    assert typed and html.unescape(typed.group(1)).strip() == text.strip()
    other = re.search(rf'<textarea[^>]*id="answer-{first.id}"[^>]*>(.*?)</textarea>', page, re.S)
    assert other and other.group(1).strip() == ""
    assert form_errors(response)["answer"]
    db.session.refresh(second)
    assert second.answer is None
