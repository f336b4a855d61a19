"""Who sees a task: invite-only tasks for the invited only; NDA tasks show their description and
files only after the solver accepts the confidentiality terms."""

import io

import pytest
import sqlalchemy as sa

from crowdsource.db import transaction
from crowdsource.errors import DomainError, NotFound
from crowdsource.tasks import questions, services
from crowdsource.tasks.models import NdaAcceptance, Question, TaskAttachment, TaskInvitation
from tests.helpers import form_errors
from tests.tasks.helpers import listed_ids

PDF = b"%PDF-1.7\n% confidential drawing\n"


@pytest.fixture
def invite_only(make_user, make_org, make_task, add_member):
    """An invite-only task with one invited solver and one invited agency (two members)."""
    owner = make_user(name="Li Wei")
    enterprise = make_org(owner)
    solver = make_user(name="Invited Solver")
    agency_owner, agency_member = make_user(), make_user()
    agency = make_org(agency_owner, name="Qilu Transfer", kind="agency", ownership="state")
    add_member(agency_member, agency)
    task = make_task(
        owner,
        enterprise,
        title="Confidential furnace retrofit",
        visibility="invite_only",
        invited_users=[solver],
        invited_organizations=[agency],
    )
    outsider = make_user(name="Outsider")
    make_org(outsider, name="Other Enterprise")
    return {
        "task": task,
        "owner": owner,
        "solver": solver,
        "agency_owner": agency_owner,
        "agency_member": agency_member,
        "outsider": outsider,
        "stranger": make_user(),
    }


def test_an_invite_only_task_is_hidden_from_the_public_and_outsiders(
    client, db, login, invite_only
):
    task = invite_only["task"]
    url = f"/tasks/{task.id}"
    assert client.get(url).status_code == 404
    assert task.id not in listed_ids(client.get("/tasks?status=all"))
    assert task.id not in listed_ids(client.get("/tasks?q=furnace"))
    for name in ("outsider", "stranger"):
        login(invite_only[name])
        assert client.get(url).status_code == 404
        assert task.id not in listed_ids(client.get("/tasks?status=all"))
        assert task.id not in listed_ids(client.get("/tasks?q=furnace"))
        assert client.get(f"{url}/bid").status_code == 404
        assert client.post(f"{url}/questions", data={"body": "Hello?"}).status_code == 404
        assert client.post(f"{url}/nda").status_code == 404


@pytest.mark.parametrize("name", ["solver", "agency_owner", "agency_member", "owner"])
def test_an_invite_only_task_is_shown_to_the_invited_and_the_enterprise(
    client, db, login, invite_only, name
):
    task = invite_only["task"]
    login(invite_only[name])
    response = client.get(f"/tasks/{task.id}")
    assert response.status_code == 200
    assert "Confidential furnace retrofit" in response.get_data(as_text=True)
    assert task.id in listed_ids(client.get("/tasks"))
    assert task.id in listed_ids(client.get("/tasks?q=furnace"))


def test_invitations_are_entered_in_the_task_form(
    client, db, make_user, make_org, login, task_form
):
    owner = make_user()
    enterprise = make_org(owner)
    solver = make_user(email="solver@example.com")
    agency = make_org(make_user(), name="Qilu Transfer", kind="agency", ownership="private")
    login(owner)
    response = client.post("/tasks/new", data=task_form(enterprise, visibility="invite_only"))
    assert response.status_code == 400
    assert form_errors(response)["visibility"] == [
        "Invite at least one solver or agency to an invite-only task."
    ]
    response = client.post(
        "/tasks/new",
        data=task_form(enterprise, visibility="invite_only", invite_emails="nobody@example.com"),
    )
    assert response.status_code == 400
    assert form_errors(response)["invite_emails"] == [
        "Nobody has registered with: nobody@example.com"
    ]
    assert db.session.scalars(sa.select(TaskInvitation)).all() == []
    response = client.post(
        "/tasks/new",
        data=task_form(
            enterprise,
            visibility="invite_only",
            invite_emails="Solver@Example.com",
            invite_agencies=[agency.id],
        ),
    )
    assert response.status_code == 302, form_errors(response)
    invitations = db.session.scalars(sa.select(TaskInvitation)).all()
    assert {(i.user_id, i.organization_id) for i in invitations} == {
        (solver.id, None),
        (None, agency.id),
    }


@pytest.fixture
def nda_task(client, make_user, make_org, make_task, login, uploads):
    """An open NDA task with an attached drawing."""
    owner = make_user(name="Li Wei")
    enterprise = make_org(owner)
    task = make_task(
        owner,
        enterprise,
        summary="Retrofit of a tunnel furnace.",
        description="The furnace runs at **1350 °C** with a secret burner layout.",
        nda_required=True,
    )
    login(owner)
    response = client.post(
        f"/tasks/{task.id}/attachments", data={"file": (io.BytesIO(PDF), "drawing.pdf")}
    )
    assert response.status_code == 302
    client.get(response.headers["Location"])  # as a browser does, which shows the flash
    client.post("/logout")
    return task, owner


def test_an_nda_task_shows_the_summary_but_not_the_description_before_acceptance(
    client, db, make_user, login, nda_task
):
    task, _ = nda_task
    attachment = db.session.scalar(sa.select(TaskAttachment))
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Retrofit of a tunnel furnace." in page
    assert "secret burner layout" not in page and "drawing.pdf" not in page
    assert client.get(f"/attachments/{attachment.id}").status_code == 404

    solver = make_user()
    login(solver)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Retrofit of a tunnel furnace." in page
    assert "secret burner layout" not in page and "drawing.pdf" not in page
    assert "I accept the confidentiality terms" in page
    assert client.get(f"/attachments/{attachment.id}").status_code == 404

    assert client.post(f"/tasks/{task.id}/nda").status_code == 302
    assert client.post(f"/tasks/{task.id}/nda").status_code == 302  # accepting again is harmless
    assert db.session.scalar(sa.select(sa.func.count(NdaAcceptance.id))) == 1
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "<strong>1350 °C</strong> with a secret burner layout" in page
    assert "drawing.pdf" in page and "I accept the confidentiality terms" not in page
    response = client.get(f"/attachments/{attachment.id}")
    assert response.status_code == 200 and response.data == PDF

    # Another solver's acceptance is not this one's.
    login(make_user())
    assert "secret burner layout" not in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert client.get(f"/attachments/{attachment.id}").status_code == 404


def test_the_enterprise_always_sees_its_nda_task_in_full(client, db, login, nda_task):
    task, owner = nda_task
    attachment = db.session.scalar(sa.select(TaskAttachment))
    login(owner)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "secret burner layout" in page and "I accept the confidentiality terms" not in page
    assert client.get(f"/attachments/{attachment.id}").status_code == 200


def test_a_solver_must_accept_the_nda_before_bidding_or_asking(
    client, db, make_user, make_bid, login, nda_task
):
    task, _ = nda_task
    solver = make_user()
    with pytest.raises(DomainError, match="confidentiality"):
        make_bid(solver, task)
    with pytest.raises(DomainError, match="confidentiality"), transaction():
        questions.ask(solver, task, "Which burner?")
    login(solver)
    response = client.post(f"/tasks/{task.id}/questions", data={"body": "Which burner?"})
    assert response.status_code == 400
    assert db.session.scalars(sa.select(Question)).all() == []

    client.post(f"/tasks/{task.id}/nda")
    response = client.post(f"/tasks/{task.id}/questions", data={"body": "Which burner?"})
    assert response.status_code == 302
    assert make_bid(solver, task).task_id == task.id


def test_accepting_the_nda_of_an_invisible_task_is_not_possible(db, make_user, make_org, make_task):
    owner = make_user()
    task = make_task(
        owner,
        make_org(owner),
        nda_required=True,
        visibility="invite_only",
        invited_users=[make_user()],
    )
    with pytest.raises(NotFound), transaction():
        services.accept_nda(make_user(), task)
    assert db.session.scalars(sa.select(NdaAcceptance)).all() == []


def test_the_answers_on_an_nda_task_are_confidential_too(client, db, make_user, login, nda_task):
    task, owner = nda_task
    asker = make_user()
    with transaction():
        services.accept_nda(asker, task)
        question = questions.ask(asker, task, "Where is the burner?")
        questions.answer(owner, question, "On the secret north wall.")
    login(asker)
    assert "On the secret north wall." in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    for viewer in (make_user(), None):
        if viewer:
            login(viewer)
        else:
            client.post("/logout")
        page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
        assert "Where is the burner?" not in page and "secret north wall" not in page


def test_files_of_an_invite_only_task_are_for_the_invited_only(
    client, db, login, invite_only, uploads
):
    task = invite_only["task"]
    login(invite_only["owner"])
    response = client.post(
        f"/tasks/{task.id}/attachments", data={"file": (io.BytesIO(PDF), "layout.pdf")}
    )
    assert response.status_code == 302
    attachment = db.session.scalar(sa.select(TaskAttachment))
    for name in ("outsider", "stranger"):
        login(invite_only[name])
        assert client.get(f"/attachments/{attachment.id}").status_code == 404
    client.post("/logout")
    assert client.get(f"/attachments/{attachment.id}").status_code == 404
    for name in ("solver", "agency_member"):
        login(invite_only[name])
        response = client.get(f"/attachments/{attachment.id}")
        assert response.status_code == 200 and response.data == PDF
