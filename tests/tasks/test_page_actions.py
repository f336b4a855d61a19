"""The task page offers exactly the actions the services accept (issue 13, point 6).

For each state of a task and each kind of visitor, the page is fetched through the test client
and its controls read; then every action is tried through its service, in a transaction that
is rolled back, and the set it accepted must equal the set the page shows."""

import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa
from flask_login import AnonymousUserMixin
from werkzeug.datastructures import FileStorage

from crowdsource.bids import offers
from crowdsource.bids import services as bid_services
from crowdsource.db import db, transaction, utcnow
from crowdsource.errors import DomainError
from crowdsource.tasks import attachments, questions, services
from crowdsource.tasks.models import NdaAcceptance, Question
from tests.tasks.helpers import details_of

PDF = b"%PDF-1.4 a small spec sheet"
STATES = ["draft", "open", "open_past_deadline", "closed", "awarded", "cancelled", "expired"]
ROLES = ["owner", "member", "bidder", "stranger", "admin", "anonymous"]


class RolledBack(Exception):
    """Raised at the end of a tried action so that its transaction rolls back."""


def controls(html, task, question, attachment):
    """The actions whose controls the task page shows."""
    found = {
        "edit": f'href="/tasks/{task.id}/edit"',
        "publish": f'action="/tasks/{task.id}/publish"',
        "close": f'action="/tasks/{task.id}/close"',
        "cancel": f'action="/tasks/{task.id}/cancel"',
        "compare_bids": f'href="/tasks/{task.id}/bids"',
        "attach": f'action="/tasks/{task.id}/attachments"',
        "remove_attachment": f'action="/attachments/{attachment.id}/remove"',
        "accept_nda": f'action="/tasks/{task.id}/nda"',
        "ask": f'action="/tasks/{task.id}/questions"',
        "answer": f'action="/questions/{question.id}/answer"',
        "bid": f'href="/tasks/{task.id}/bid"',
    }
    return {action for action, marker in found.items() if marker in html}


def bid_details(price=6_000_000):
    due = (utcnow() + dt.timedelta(days=30)).date()
    return bid_services.BidDetails(
        price_fen=price,
        duration_days=30,
        proposal="Our approach.",
        milestones=[bid_services.ProposedMilestone("All", price, due)],
    )


def attempts(task, question, attachment):
    """Each action, as its service does it."""
    upload = FileStorage(io.BytesIO(PDF), "extra.pdf", content_type="application/pdf")

    def accept_nda(actor):
        def count():
            return db.session.scalar(sa.select(sa.func.count(NdaAcceptance.id)))

        before = count()
        services.accept_nda(actor, task)
        if count() == before:
            raise DomainError("nothing accepted")

    return {
        "edit": lambda actor: services.update_task(actor, task, details_of(task, summary="New.")),
        "publish": lambda actor: services.publish_task(actor, task),
        "close": lambda actor: services.close_bidding(actor, task),
        "cancel": lambda actor: services.cancel_task(actor, task, "Budget frozen."),
        "compare_bids": None,  # a page, tried through the client
        "attach": lambda actor: attachments.add(actor, task, upload),
        "remove_attachment": lambda actor: attachments.remove(actor, attachment),
        "accept_nda": accept_nda,
        "ask": lambda actor: questions.ask(actor, task, "Which camera?"),
        "answer": lambda actor: questions.answer(actor, question, "A Basler ace."),
        "bid": lambda actor: bid_services.place_bid(actor, task, bid_details()),
    }


def accepted(client, actor, task, question, attachment):
    """The actions the services (and the bid comparison page) accept from ``actor`` now."""
    ok = set()
    for action, attempt in attempts(task, question, attachment).items():
        if attempt is None:
            authenticated = getattr(actor, "is_authenticated", False)
            if authenticated and client.get(f"/tasks/{task.id}/bids").status_code == 200:
                ok.add(action)
            continue
        try:
            with transaction():
                attempt(actor)
                raise RolledBack
        except RolledBack:
            ok.add(action)
        except DomainError:
            pass
        finally:
            db.session.expire_all()
    return ok


@pytest.fixture
def world(make_user, make_org, make_task, add_member, uploads):
    """An enterprise with two members, a solver who accepted the NDA, a stranger, the admin."""
    owner = make_user(name="Li Wei")
    enterprise = make_org(owner)
    member = make_user(name="Wang Fang")
    add_member(member, enterprise)
    return dict(
        owner=owner,
        member=member,
        enterprise=enterprise,
        bidder=make_user(name="Zhao Lei"),
        stranger=make_user(name="Nosy Parker"),
        admin=make_user(name="Admin", is_admin=True),
        make_task=make_task,
    )


def task_in(state, world, clock):
    """A task with NDA terms, an unanswered question and an attachment, brought to ``state``."""
    owner, bidder = world["owner"], world["bidder"]
    task = world["make_task"](owner, world["enterprise"], publish=False, nda_required=True)
    with transaction():
        attachment = attachments.add(
            owner, task, FileStorage(io.BytesIO(PDF), "spec.pdf", content_type="application/pdf")
        )
        question = Question(task_id=task.id, asker_id=bidder.id, body="Which line?")
        db.session.add(question)
    if state != "draft":
        with transaction():
            services.publish_task(owner, task)
            services.accept_nda(bidder, task)
    if state in ("closed", "awarded"):
        with transaction():
            bid = bid_services.place_bid(bidder, task, bid_details())
            services.close_bidding(owner, task)
        if state == "awarded":
            with transaction():
                offers.sign_both(owner, bid)
    if state == "cancelled":
        with transaction():
            services.cancel_task(owner, task, "Budget frozen.")
    if state in ("open_past_deadline", "expired"):
        clock.move_to(task.bid_deadline + dt.timedelta(minutes=5))
    if state == "expired":
        with transaction():
            assert services.sweep_due() == 1
    db.session.expire_all()
    return task, question, attachment


@pytest.mark.parametrize("state", STATES)
def test_the_task_page_shows_exactly_the_actions_the_services_accept(
    client, login, world, clock, state
):
    task, question, attachment = task_in(state, world, clock)
    seen = {}
    for role in ROLES:
        if role == "anonymous":
            client.post("/logout")
            actor = AnonymousUserMixin()
        else:
            actor = world[role]
            login(actor)
        html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
        shown = controls(html, task, question, attachment)
        assert shown == accepted(client, actor, task, question, attachment), role
        assert shown == services.allowed_actions(actor, task), role
        seen[role] = shown
    # the table is not trivially empty: each state offers someone something, or nothing at all
    # once the task's life as a task is over
    if state == "draft":
        assert seen["owner"] == {"edit", "publish", "attach", "remove_attachment", "answer"}
        assert seen["bidder"] == set()
    if state == "open":
        assert {"edit", "cancel", "attach", "answer", "compare_bids"} <= seen["owner"]
        assert "close" not in seen["owner"]  # no bids yet
        assert seen["bidder"] == {"ask", "bid"}
        assert seen["stranger"] == {"accept_nda"}
    if state == "open_past_deadline":
        assert "edit" not in seen["owner"] and "bid" not in seen["bidder"]
    if state == "closed":
        assert seen["owner"] == {"cancel", "compare_bids", "answer"}
    if state == "awarded":
        assert "cancel" not in seen["owner"]
    assert seen["anonymous"] == set()


def test_a_refused_answer_in_the_html_matches_the_rule_text(client, login, world, clock):
    """A solver on an open task past its deadline is told bids are over, not shown a button."""
    task, _question, _attachment = task_in("open_past_deadline", world, clock)
    login(world["bidder"])
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "This task does not accept bids." in html
    assert not re.search(rf'href="/tasks/{task.id}/bid"', html)
    client.post("/logout")
    assert "Log in to bid" not in client.get(f"/tasks/{task.id}").get_data(as_text=True)
