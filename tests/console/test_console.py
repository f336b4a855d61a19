"""The operator console: finding people and organizations, suspending and reactivating an
account, hiding and restoring a task, the audit trail with its filters and CSV export."""

import csv
import io
import re

import pytest
import sqlalchemy as sa

from crowdsource.audit import AuditEvent
from crowdsource.bids.models import Bid, BidStatus
from crowdsource.db import db, transaction
from crowdsource.tasks.models import Task
from tests.helpers import PASSWORD, form_errors, stored_counts
from tests.plugin import Client

REASON = "Posted the same spam task forty times."


def page(response):
    return response.get_data(as_text=True)


def found(response, testid):
    """The text of the table ``testid`` of the page ("" when the page has none)."""
    match = re.search(rf'<table[^>]*data-testid="{testid}".*?</table>', page(response), re.S)
    return match.group(0) if match else ""


def other_browser(app, user):
    app.test_client_class = Client
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = browser.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return browser


def test_only_the_admin_and_managers_open_the_console(client, login, people):
    for user in (people.owner, people.solver):
        login(user)
        assert client.get("/console/").status_code == 404
        assert client.get("/console/audit").status_code == 404
    client.post("/logout")
    assert client.get("/console/").status_code == 302  # to the login page
    login(people.managers["zibo"])
    assert client.get("/console/").status_code == 200
    assert client.get("/console/audit").status_code == 404  # the trail is the admin's
    login(people.admin)
    assert client.get("/console/audit").status_code == 200


def test_the_admin_finds_accounts_and_organizations(client, login, people):
    login(people.admin)
    users = found(client.get("/console/?q=zhao"), "users-found")
    assert "Zhao Lei" in users and "zhao.lei@example.com" in users
    assert "Haian Robotics" in found(client.get("/console/?q=Haian"), "organizations-found")
    code = people.enterprise.credit_code
    response = client.get(f"/console/?q={code.lower()}")
    assert "Haian Robotics" in found(response, "organizations-found")
    assert "No account matches." in page(client.get("/console/?q=%25"))  # no wildcard


def test_a_manager_finds_only_the_organizations_and_members_of_their_centers(client, login, people):
    login(people.managers["zibo"])
    assert "Zibo Ceramics" in found(client.get("/console/?q=Ceramics"), "organizations-found")
    assert "Haian Robotics" not in found(client.get("/console/?q=Haian"), "organizations-found")
    assert "Ma Lin" in found(client.get("/console/?q=Ma Lin"), "users-found")
    assert "Li Wei" not in found(client.get("/console/?q=Li Wei"), "users-found")
    assert client.get(f"/console/users/{people.owner.id}").status_code == 404
    assert client.get(f"/console/users/{people.zibo_owner.id}").status_code == 200


def test_a_suspended_account_is_signed_out_its_bids_withdrawn_and_its_tasks_hidden(
    app, client, login, people, make_task, make_bid
):
    other_task = make_task(people.owner, people.enterprise, title="Gearbox noise")
    bid = make_bid(people.zibo_owner, other_task)
    own_task = make_task(people.zibo_owner, people.zibo_enterprise, title="Kiln cooling")
    elsewhere = other_browser(app, people.zibo_owner)

    login(people.admin)
    response = client.post(
        f"/console/users/{people.zibo_owner.id}/suspend", data={"reason": REASON}
    )
    assert response.status_code == 302
    assert "1 bids withdrawn, 1 tasks hidden" in page(client.get(response.location))
    assert elsewhere.get("/account/profile").status_code == 302  # signed out there
    response = elsewhere.post(
        "/login", data={"email": people.zibo_owner.email, "password": PASSWORD}
    )
    assert form_errors(response)["password"] == [
        "This account is suspended. Write to the platform if you think it is wrong."
    ]
    assert db.session.get(Bid, bid.id).status == BidStatus.WITHDRAWN
    login(people.solver)
    assert client.get(f"/tasks/{own_task.id}").status_code == 404
    assert "Kiln cooling" not in page(client.get("/tasks"))
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.actor_id == people.admin.id)
    ).all()
    assert {(e.subject, e.action, e.reason) for e in events} >= {
        ("user", "suspended", REASON),
        ("task", "hidden", REASON),
        ("bid", "status", REASON),
    }

    login(people.admin)
    client.post(f"/console/users/{people.zibo_owner.id}/reactivate", data={"reason": "Explained."})
    assert other_browser(app, people.zibo_owner).get("/account/profile").status_code == 200
    login(people.solver)
    assert client.get(f"/tasks/{own_task.id}").status_code == 200
    assert db.session.get(Bid, bid.id).status == BidStatus.WITHDRAWN  # the task moved on


def test_a_suspension_needs_a_reason_and_the_admin(client, login, people):
    login(people.admin)
    counts = stored_counts()
    response = client.post(f"/console/users/{people.solver.id}/suspend", data={"reason": " "})
    assert response.status_code == 400
    assert form_errors(response)["reason"] == ["This field is required."]
    response = client.post(f"/console/users/{people.admin.id}/suspend", data={"reason": REASON})
    assert response.status_code in (403, 404)
    assert (
        stored_counts() == counts and db.session.get(type(people.solver), people.solver.id).active
    )
    login(people.managers["shandong"])
    response = client.post(f"/console/users/{people.owner.id}/suspend", data={"reason": REASON})
    assert response.status_code == 403
    assert db.session.get(type(people.owner), people.owner.id).active


def test_a_manager_hides_a_task_of_their_center_with_a_reason_the_enterprise_sees(
    client, login, people, make_task
):
    task = make_task(people.owner, people.enterprise, title="Gearbox noise")
    login(people.managers["qingdao"])  # Laoshan is below Qingdao
    response = client.post(f"/console/tasks/{task.id}/hide", data={"reason": ""})
    assert response.status_code == 400
    response = client.post(f"/console/tasks/{task.id}/hide", data={"reason": "Advertising."})
    assert response.status_code == 302
    login(people.solver)
    assert client.get(f"/tasks/{task.id}").status_code == 404
    assert "Gearbox noise" not in page(client.get("/tasks?q=gearbox"))
    login(people.owner)
    shown = page(client.get(f"/tasks/{task.id}"))
    assert "The platform has hidden this task" in shown and "Advertising." in shown

    login(people.managers["zibo"])  # another center's manager
    assert client.post(f"/console/tasks/{task.id}/restore").status_code == 404
    login(people.managers["qingdao"])
    assert client.post(f"/console/tasks/{task.id}/restore").status_code == 302
    login(people.solver)
    assert client.get(f"/tasks/{task.id}").status_code == 200


@pytest.fixture
def trail(people, make_task):
    """Three events: two by the admin (a task hidden and restored), one by the system."""
    from crowdsource import audit
    from crowdsource.tasks import moderation

    task = make_task(people.owner, people.enterprise)
    with transaction():
        moderation.hide_task(people.admin, task, '=HYPERLINK("http://x.example")')
        moderation.restore_task(people.admin, task)
        audit.record("payout", 7, "sent", reason="by the sweep")
    return task


def test_the_trail_is_filtered_by_who_what_and_when(client, login, people, trail, clock):
    login(people.admin)
    listed = found(client.get("/console/audit?actor=admin&subject=task"), "audit-events")
    assert "hidden" in listed and "restored" in listed and "by the sweep" not in listed
    listed = found(client.get("/console/audit?action=sent"), "audit-events")
    assert "by the sweep" in listed and "restored" not in listed
    today = clock.now().date()
    response = client.get(f"/console/audit?since={today}&until={today}")
    assert "restored" in found(response, "audit-events")
    later = today.replace(year=today.year + 1)
    assert "restored" not in found(client.get(f"/console/audit?since={later}"), "audit-events")
    response = client.get("/console/audit?since=yesterday&subject=nothing")
    assert response.status_code == 400
    assert set(form_errors(response)) == {"since", "subject"}


def test_the_trail_downloads_as_csv_without_formulas(client, login, people, trail):
    login(people.admin)
    response = client.get("/console/audit.csv?subject=task")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(page(response))))
    assert [row["action"] for row in rows] == ["restored", "hidden", "status"][: len(rows)]
    hidden = next(row for row in rows if row["action"] == "hidden")
    assert hidden["reason"] == '\'=HYPERLINK("http://x.example")'
    assert hidden["actor"] == "Admin <admin@platform.example>"
    assert db.session.scalar(sa.select(sa.func.count(Task.id))) == 1
