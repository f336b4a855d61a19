"""Long lists are paged: the questions on a task page and the messages of a contract. Page 2
shows the rest, a link to one question opens its page, an out-of-range page is an empty page
(or the list's first), never a server error."""

import sqlalchemy as sa

from crowdsource.contracts.models import ContractMessage
from crowdsource.db import db, transaction
from crowdsource.tasks import questions

BAD_PAGES = ("0", "-3", "x", "999999", "10000000000000000000000", "")


def questions_on(html):
    return html.count('data-testid="question"')


def test_the_questions_of_a_task_are_paged(client, login, make_user, make_org, make_task):
    owner = make_user(email="owner@example.com")
    task = make_task(owner, make_org(owner), title="Solder joint inspection")
    asker = make_user(email="asker@example.com")
    with transaction():
        asked = [questions.ask(asker, task, f"Question number {n}?") for n in range(45)]
    login(owner)
    first = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert questions_on(first) == 20
    assert "Question number 0?" in first and "Question number 20?" not in first
    assert "Page 1 of 3" in first and f"/tasks/{task.id}?page=2" in first
    third = client.get(f"/tasks/{task.id}?page=3").get_data(as_text=True)
    assert questions_on(third) == 5 and "Question number 44?" in third
    # a notification's link to one question opens the page that shows it
    link = questions.link_to(owner, asked[30])
    assert link == f"/tasks/{task.id}?page=2#question-{asked[30].id}"
    linked = client.get(link).get_data(as_text=True)
    assert f'id="question-{asked[30].id}"' in linked and "Page 2 of 3" in linked
    for page in BAD_PAGES:
        response = client.get(f"/tasks/{task.id}?page={page}")
        assert response.status_code in (200, 400, 404), page


def test_a_question_posted_on_a_long_task_lands_on_its_page(
    client, login, make_user, make_org, make_task
):
    owner = make_user(email="owner@example.com")
    task = make_task(owner, make_org(owner), title="Solder joint inspection")
    asker = make_user(email="asker@example.com")
    with transaction():
        for n in range(25):
            questions.ask(asker, task, f"Question number {n}?")
    login(asker)
    response = client.post(f"/tasks/{task.id}/questions", data={"body": "One more?"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "One more?" in page and "Page 2 of 2" in page


def test_the_messages_of_a_contract_are_paged_from_the_latest(client, login, people, award):
    contract = award()
    with transaction():
        for number in range(35):
            db.session.add(
                ContractMessage(
                    contract_id=contract.id, author_id=people.solver.id, body=f"Message {number}"
                )
            )
    login(people.owner)
    latest = client.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert latest.count('data-testid="message"') == 30
    assert "Message 34" in latest and "Message 4<" not in latest and "Page 1 of 2" in latest
    assert latest.index("Message 5<") < latest.index("Message 34<")  # oldest first on a page
    earlier = client.get(f"/contracts/{contract.id}?page=2").get_data(as_text=True)
    assert earlier.count('data-testid="message"') == 5
    assert "Message 0<" in earlier and "Message 34" not in earlier
    for page in BAD_PAGES:
        response = client.get(f"/contracts/{contract.id}?page={page}")
        assert response.status_code in (200, 400, 404), page
    assert db.session.scalar(sa.select(sa.func.count(ContractMessage.id))) == 35
