"""Posting a task: the draft, who sees it, publishing, refused input, safe Markdown, editing with
a change history, terms fixed at publication, cancelling, and who may do any of it."""

import datetime as dt
import re
import time

import pytest
import sqlalchemy as sa

from crowdsource.bids import services as bid_services
from crowdsource.bids.models import Bid, BidStatus
from crowdsource.db import transaction, utcnow
from crowdsource.errors import DomainError, NotAllowed
from crowdsource.tasks import services
from crowdsource.tasks.models import Task, TaskRevision, TaskStatus
from tests.helpers import form_errors, table_counts
from tests.tasks.helpers import details_of, history_of, listed_ids, notifications_of


def test_enterprise_member_posts_a_draft_with_budget_in_yuan_and_tags(
    client, db, make_user, make_org, login, task_form
):
    owner = make_user(name="Li Wei")
    enterprise = make_org(owner, name="Haian Robotics")
    login(owner)
    assert client.get("/tasks/new").status_code == 200
    response = client.post(
        "/tasks/new",
        data=task_form(
            enterprise,
            budget_min="50,000",
            budget_max="80,000.50",
            fields="智能制造，机器视觉、 quality ",
            skills="machine vision, PLC,CFD",
        ),
    )
    assert response.status_code == 302, form_errors(response)
    task = db.session.scalar(sa.select(Task))
    assert response.headers["Location"] == f"/tasks/{task.id}"
    assert task.status == TaskStatus.DRAFT
    assert task.organization_id == enterprise.id and task.created_by_id == owner.id
    assert (task.budget_min_fen, task.budget_max_fen) == (5_000_000, 8_000_050)
    assert isinstance(task.budget_min_fen, int)
    assert task.fields == ["智能制造", "机器视觉", "quality"]
    assert task.skills == ["machine vision", "PLC", "CFD"]
    # The deadline was typed in the user's time zone (Asia/Shanghai, UTC+8).
    assert task.bid_deadline == dt.datetime(2099, 1, 1, 4, 0, tzinfo=dt.UTC)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "¥50,000.00" in page and "¥80,000.50" in page
    assert "机器视觉" in page and "CFD" in page


def test_a_draft_is_seen_only_by_its_organization_until_published(
    client, db, make_user, make_org, make_task, login, add_member
):
    owner, colleague, outsider = make_user(), make_user(), make_user()
    enterprise = make_org(owner)
    add_member(colleague, enterprise)
    make_org(outsider, name="Other Enterprise")
    task = make_task(owner, enterprise, publish=False, title="Draft task for welding cells")
    url = f"/tasks/{task.id}"

    assert client.get(url).status_code == 404
    assert task.id not in listed_ids(client.get("/tasks?status=all"))
    login(outsider)
    assert client.get(url).status_code == 404
    assert task.id not in listed_ids(client.get("/tasks?status=all"))
    assert "Draft task for welding cells" not in client.get("/tasks/mine").get_data(as_text=True)
    assert client.post(f"{url}/publish").status_code == 404
    login(colleague)
    assert client.get(url).status_code == 200

    login(owner)
    assert client.get(url).status_code == 200
    assert client.post(f"{url}/publish").status_code == 302
    db.session.refresh(task)
    assert task.status == TaskStatus.OPEN and task.published_at is not None

    login(outsider)
    assert client.get(url).status_code == 200
    assert task.id in listed_ids(client.get("/tasks"))
    client.post("/logout")
    assert task.id in listed_ids(client.get("/tasks"))


def test_publishing_needs_the_form_token(client, db, make_user, make_org, make_task, login):
    owner = make_user()
    draft = make_task(owner, make_org(owner), publish=False)
    login(owner)
    assert client.post(f"/tasks/{draft.id}/publish", csrf=False).status_code == 400
    db.session.refresh(draft)
    assert draft.status == TaskStatus.DRAFT


def test_a_draft_whose_deadline_has_passed_cannot_be_published(
    client, db, make_user, make_org, make_task, login
):
    owner = make_user()
    draft = make_task(owner, make_org(owner), publish=False)
    with transaction():
        draft.bid_deadline = utcnow() - dt.timedelta(hours=1)
    login(owner)
    response = client.post(f"/tasks/{draft.id}/publish")
    assert response.status_code == 400
    assert "The bid deadline has passed: set a new one before publishing." in response.get_data(
        as_text=True
    )
    db.session.refresh(draft)
    assert draft.status == TaskStatus.DRAFT and draft.published_at is None


def test_a_user_without_an_enterprise_is_sent_to_register_one(
    client, db, make_user, login, task_form
):
    login(make_user())
    response = client.get("/tasks/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/orgs/new?kind=enterprise")
    before = table_counts()
    response = client.post("/tasks/new", data=task_form())
    assert response.status_code == 302
    assert table_counts() == before


def test_an_agency_member_cannot_post_a_task(client, db, make_user, make_org, login, task_form):
    member = make_user()
    agency = make_org(member, name="Qilu Transfer Center", kind="agency", ownership="private")
    login(member)
    before = table_counts()
    response = client.post("/tasks/new", data=task_form(agency))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/orgs/new?kind=enterprise")
    assert table_counts() == before
    with pytest.raises(NotAllowed), transaction():
        services.create_task(member, agency, details_for(agency))
    assert table_counts() == before


def test_a_member_cannot_post_for_an_enterprise_they_do_not_belong_to(
    client, db, make_user, make_org, login, task_form
):
    owner, other = make_user(), make_user()
    make_org(owner)
    foreign = make_org(other, name="Other Enterprise")
    login(owner)
    before = table_counts()
    response = client.post("/tasks/new", data=task_form(foreign))
    assert response.status_code == 400
    assert "organization_id" in form_errors(response)
    assert table_counts() == before


#: the fields of the task form that are disabled (so not sent) once the task is open
FIXED_WHEN_OPEN = (
    "organization_id",
    "contract_type",
    "center_id",
    "visibility",
    "bid_mode",
    "ip_terms",
    "nda_required",
)


def details_for(organization):
    return services.TaskDetails(
        title="Gearbox noise analysis",
        summary="Find the source of gearbox noise.",
        description="Measurements are available.",
        contract_type="consulting",
        fields=[],
        skills=[],
        budget_min_fen=100_000,
        budget_max_fen=200_000,
        bid_deadline=dt.datetime(2099, 1, 1, tzinfo=dt.UTC),
        delivery_date=dt.date(2099, 2, 1),
        center_id=organization.center_id,
    )


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"bid_deadline": "2020-01-01T12:00"},
            "bid_deadline",
            "The bid deadline must be in the future.",
        ),
        (
            {"budget_min": "90,000", "budget_max": "80,000"},
            "budget_max",
            "The maximum budget is below the minimum.",
        ),
        (
            {"delivery_date": "2098-12-31"},
            "delivery_date",
            "The expected delivery date must come after the bid deadline.",
        ),
        ({"budget_min": "12.345"}, "budget_min", "Use at most two decimals (fen)."),
        ({"budget_min": "-5"}, "budget_min", "The amount must be more than zero."),
        ({"budget_max": "abc"}, "budget_max", "Enter an amount in yuan, e.g. 12500 or 12500.50."),
        ({"budget_min": "0"}, "budget_min", "The amount must be more than zero."),
        ({"budget_max": "99999999999"}, "budget_max", "The amount is too large."),
        ({"budget_max": "1" + "0" * 12}, "budget_max", "The amount is too large."),
        ({"budget_max": "1e10"}, "budget_max", "Enter an amount in yuan, e.g. 12500 or 12500.50."),
        (
            {"budget_min": "50,00"},
            "budget_min",
            "Group the digits in threes with commas, e.g. 12,500 or 1,250,000.50.",
        ),
        ({"title": ""}, "title", "This field is required."),
        ({"title": "   "}, "title", "This field is required."),
        ({"summary": " \r\n "}, "summary", "This field is required."),
        ({"bid_deadline": "next week"}, "bid_deadline", None),
    ],
)
def test_bad_input_gets_a_field_error_and_stores_nothing(
    client, db, make_user, make_org, login, task_form, fields, field, message
):
    owner = make_user()
    enterprise = make_org(owner)
    login(owner)
    before = table_counts()
    response = client.post("/tasks/new", data=task_form(enterprise, **fields))
    assert response.status_code == 400
    errors = form_errors(response)
    assert field in errors, errors
    if message:
        assert message in errors[field]
    assert table_counts() == before


def test_an_absurd_amount_is_refused_at_once(client, db, make_user, make_org, login, task_form):
    owner = make_user()
    enterprise = make_org(owner)
    login(owner)
    started = time.monotonic()
    response = client.post("/tasks/new", data=task_form(enterprise, budget_max="9" * 100_000))
    assert time.monotonic() - started < 3
    assert form_errors(response)["budget_max"] == ["The amount is too large."]
    started = time.monotonic()
    # On the list the filters are refused at their fields too (with a 400: see test_bad_input)
    response = client.get("/tasks?budget_min=" + "9" * 100_000 + "&budget_max=-1e999999")
    assert response.status_code == 400
    assert form_errors(response)["budget_min"] == ["The amount is too large."]
    assert form_errors(response)["budget_max"] == [
        "Enter an amount in yuan, e.g. 12500 or 12500.50."
    ]
    assert time.monotonic() - started < 3


def test_script_in_the_description_is_rendered_harmless(
    client, db, make_user, make_org, make_task, login
):
    owner = make_user()
    enterprise = make_org(owner)
    task = make_task(
        owner,
        enterprise,
        title="<script>alert('title')</script> Welding",
        description=(
            "**Important** <script>alert('x')</script>\n\n"
            '<img src="x" onerror="alert(1)"> [click](javascript:alert(2)) '
            '<a href="https://example.com" onclick="alert(3)">site</a>'
        ),
    )
    for viewer in (None, owner):
        if viewer:
            login(viewer)
        page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
        assert "<strong>Important</strong>" in page
        assert "<script>alert" not in page
        assert "onerror" not in page and "onclick" not in page
        assert "javascript:alert" not in page
        assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; Welding" in page


def test_editing_an_open_task_shows_a_change_history(
    client, db, make_user, make_org, login, task_form
):
    owner = make_user(name="Li Wei")
    enterprise = make_org(owner)
    login(owner)
    response = client.post("/tasks/new", data=task_form(enterprise))
    task_id = int(response.headers["Location"].rsplit("/", 1)[1])
    # Edits of a draft are not history: nobody has seen it yet.
    client.post(f"/tasks/{task_id}/edit", data=task_form(enterprise, summary="Better summary."))
    client.post(f"/tasks/{task_id}/publish")
    assert db.session.scalars(sa.select(TaskRevision)).all() == []

    edit_page = client.get(f"/tasks/{task_id}/edit")
    assert edit_page.status_code == 200
    assert 'value="80000.00"' in edit_page.get_data(as_text=True)
    # The terms fixed at publication are disabled in the form, so the browser omits them.
    data = task_form(enterprise, budget_max="90,000", summary="Better summary.")
    for fixed in FIXED_WHEN_OPEN:
        data.pop(fixed, None)
    response = client.post(f"/tasks/{task_id}/edit", data=data)
    assert response.status_code == 302, form_errors(response)

    task = db.session.get(Task, task_id)
    assert task.status == TaskStatus.OPEN and task.budget_max_fen == 9_000_000
    revision = db.session.scalar(sa.select(TaskRevision))
    assert revision.editor_id == owner.id
    assert revision.changes == {"budget_max_fen": ["¥80,000.00", "¥90,000.00"]}
    history = history_of(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    assert "Change history" in history and "Li Wei" in history
    assert "Budget up to (yuan): <del>¥80,000.00</del> → ¥90,000.00" in history
    assert "Summary" not in history and "Bid deadline" not in history
    # Everyone who can see the task sees what changed.
    client.post("/logout")
    history = history_of(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    assert "<del>¥80,000.00</del> → ¥90,000.00" in history


def test_the_change_history_shows_dates_as_the_reader_reads_them(
    client, db, make_user, make_org, login, task_form
):
    owner = make_user()
    enterprise = make_org(owner)
    login(owner)
    response = client.post("/tasks/new", data=task_form(enterprise))
    task_id = int(response.headers["Location"].rsplit("/", 1)[1])
    client.post(f"/tasks/{task_id}/publish")
    data = task_form(enterprise, bid_deadline="2099-01-05T12:00", delivery_date="2099-04-01")
    assert client.post(f"/tasks/{task_id}/edit", data=data).status_code == 302

    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    deadline = re.search(r'data-testid="deadline">([^<]*)<', page).group(1)
    assert "12:00" in deadline  # the time typed, in the owner's zone (Asia/Shanghai)
    history = history_of(page)
    assert f"→ {deadline}" in history
    assert "Jan 1, 2099, 12:00" in history and "04:00" not in history
    assert "Expected delivery date: <del>March 1, 2099</del> → April 1, 2099" in history


def test_terms_fixed_at_publication_cannot_change(
    client, db, make_user, make_org, make_task, login, task_form
):
    owner = make_user()
    enterprise = make_org(owner)
    task = make_task(owner, enterprise)
    with pytest.raises(DomainError), transaction():
        services.update_task(owner, task, details_of(task, bid_mode="open", title="New title"))
    with pytest.raises(DomainError), transaction():
        services.update_task(owner, task, details_of(task, nda_required=True))
    db.session.refresh(task)
    assert task.bid_mode == "sealed" and not task.nda_required
    assert task.title == "Machine-vision inspection of PCB solder joints"
    assert db.session.scalars(sa.select(TaskRevision)).all() == []

    # A forged form field changes nothing either: the page keeps the published terms.
    login(owner)
    data = task_form(
        enterprise,
        title=task.title,
        bid_mode="open",
        contract_type="transfer",
        bid_deadline="2099-01-01T12:00",
    )
    response = client.post(f"/tasks/{task.id}/edit", data=data)
    assert response.status_code == 302, form_errors(response)
    db.session.refresh(task)
    assert task.bid_mode == "sealed" and task.contract_type == "development"


def test_cancelling_rejects_the_live_bids_and_tells_the_bidders_why(
    client, db, make_user, make_org, make_task, make_bid, login, outbox
):
    owner = make_user()
    enterprise = make_org(owner)
    first, second = make_user(email="first@example.com"), make_user(email="second@example.com")
    gone = make_user(email="gone@example.com")
    task = make_task(owner, enterprise)
    make_bid(first, task)
    make_bid(second, task, price_fen=7_000_000)
    withdrawn = make_bid(gone, task)
    with transaction():
        bid_services.withdraw_bid(gone, withdrawn)
    login(owner)
    outbox.clear()
    response = client.post(f"/tasks/{task.id}/cancel", data={"reason": "Our budget was frozen."})
    assert response.status_code == 302
    db.session.refresh(task)
    assert task.status == TaskStatus.CANCELLED
    assert task.cancel_reason == "Our budget was frozen." and task.ended_at is not None
    statuses = {bid.bidder_id: bid.status for bid in db.session.scalars(sa.select(Bid))}
    assert statuses == {
        first.id: BidStatus.REJECTED,
        second.id: BidStatus.REJECTED,
        gone.id: BidStatus.WITHDRAWN,
    }
    assert notifications_of(gone) == []
    for bidder in (first, second):
        (notification,) = notifications_of(bidder, "task_cancelled")
        assert notification.params["reason"] == "Our budget was frozen."
    assert sorted(message.to[0] for message in outbox) == [
        "first@example.com",
        "second@example.com",
    ]
    assert all("Our budget was frozen." in message.body for message in outbox)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "This task was cancelled. Reason: Our budget was frozen." in page
    login(first)
    assert "Our budget was frozen." in client.get("/notifications").get_data(as_text=True)


def test_a_task_whose_bidding_has_closed_can_still_be_cancelled(
    client, db, make_user, make_org, make_task, make_bid, login
):
    owner, bidder = make_user(), make_user()
    task = make_task(owner, make_org(owner))
    make_bid(bidder, task)
    login(owner)
    assert client.post(f"/tasks/{task.id}/close").status_code == 302
    assert client.post(f"/tasks/{task.id}/cancel", data={"reason": "No fit."}).status_code == 302
    db.session.refresh(task)
    assert task.status == TaskStatus.CANCELLED
    assert db.session.scalar(sa.select(Bid)).status == BidStatus.REJECTED
    assert len(notifications_of(bidder, "task_cancelled")) == 1
    # A cancelled task is over: it cannot be cancelled or edited again.
    assert client.post(f"/tasks/{task.id}/cancel", data={"reason": "Again."}).status_code == 409
    with pytest.raises(DomainError), transaction():
        services.update_task(owner, task, details_of(task, title="Revived"))


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancelling_without_a_reason_is_refused(
    client, db, make_user, make_org, make_task, make_bid, login, outbox, reason
):
    owner = make_user()
    enterprise = make_org(owner)
    task = make_task(owner, enterprise)
    make_bid(make_user(), task)
    login(owner)
    before = table_counts()
    response = client.post(f"/tasks/{task.id}/cancel", data={"reason": reason})
    assert response.status_code == 400
    assert "Give the bidders a reason for the cancellation." in response.get_data(as_text=True)
    db.session.refresh(task)
    assert task.status == TaskStatus.OPEN
    assert db.session.scalar(sa.select(Bid)).status == BidStatus.SUBMITTED
    assert table_counts() == before


def test_another_organization_cannot_edit_publish_or_cancel(
    client, db, make_user, make_org, make_task, login, task_form
):
    owner, other = make_user(), make_user()
    enterprise = make_org(owner)
    make_org(other, name="Other Enterprise")
    task = make_task(owner, enterprise)
    draft = make_task(owner, enterprise, publish=False)
    login(other)
    assert client.get(f"/tasks/{task.id}/edit").status_code == 403
    response = client.post(f"/tasks/{task.id}/edit", data=task_form(enterprise, title="Hacked"))
    assert response.status_code == 403
    assert client.post(f"/tasks/{task.id}/cancel", data={"reason": "Hacked"}).status_code == 403
    assert client.post(f"/tasks/{task.id}/close").status_code == 403
    assert client.get(f"/tasks/{draft.id}/edit").status_code == 404
    assert client.post(f"/tasks/{draft.id}/publish").status_code == 404
    db.session.refresh(task)
    db.session.refresh(draft)
    assert task.title != "Hacked" and task.status == TaskStatus.OPEN
    assert draft.status == TaskStatus.DRAFT
    with pytest.raises(NotAllowed), transaction():
        services.update_task(other, task, details_of(task, title="Hacked"))


def test_an_unknown_task_is_not_found(client, db, make_user, login):
    assert client.get("/tasks/987654").status_code == 404
    login(make_user())
    assert client.get("/tasks/987654").status_code == 404
    assert client.get("/tasks/987654/edit").status_code == 404
    assert client.post("/tasks/987654/publish").status_code == 404
    assert client.post("/tasks/987654/cancel", data={"reason": "x"}).status_code == 404


def test_a_refused_cancellation_comes_back_on_the_task_page_with_the_reason_as_typed(
    client, db, make_user, make_org, make_task, make_bid, login
):
    owner = make_user()
    task = make_task(owner, make_org(owner))
    make_bid(make_user(), task)
    login(owner)
    before = table_counts()
    reason = "x" * 2001

    response = client.post(f"/tasks/{task.id}/cancel", data={"reason": reason})

    assert response.status_code == 400
    assert task.title in response.get_data(as_text=True)  # the task's page, not an error page
    assert reason in response.get_data(as_text=True)
    assert list(form_errors(response)) == ["reason"]
    db.session.refresh(task)
    assert task.status == TaskStatus.OPEN
    assert table_counts() == before
