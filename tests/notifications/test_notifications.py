"""Notifications: the unread count, opening and reading them, and the e-mail that goes with the
important ones, in the reader's language."""

import logging
import re
from types import SimpleNamespace

import pytest
from flask_babel import force_locale, get_locale, gettext
from flask_mailman import EmailMessage

from crowdsource.config import from_environment
from crowdsource.db import transaction
from crowdsource.mail import LogEmailBackend
from crowdsource.notifications import jobs, messages
from crowdsource.notifications.models import Kind, Notification
from crowdsource.notifications.services import notify
from tests.bids.support import mails_to, notifications_of, reload


def page(response):
    return response.get_data(as_text=True)


def unread_badge(html):
    """The unread count the navigation shows, or None when it shows none."""
    match = re.search(r'data-testid="unread-count">(\d+)<', html)
    return int(match.group(1)) if match else None


@pytest.fixture
def market(make_user, make_org, make_task):
    owner = make_user(name="Li Wei", email="li.wei@haian.example")
    enterprise = make_org(owner, name="Haian Robotics")
    task = make_task(owner, enterprise, title="Weld seam tracking")
    return SimpleNamespace(owner=owner, enterprise=enterprise, task=task)


@pytest.fixture
def two_bids(make_bid, make_user, market):
    """Two bids on the task, so that its owner has two unread notifications."""
    return [make_bid(make_user(), market.task), make_bid(make_user(), market.task)]


# --- the unread count and the list ----------------------------------------------------------


def test_unread_count_shows_in_the_navigation_and_on_the_list(client, market, two_bids, login):
    login(market.owner)
    assert unread_badge(page(client.get("/"))) == 2
    listing = page(client.get("/notifications"))
    assert unread_badge(listing) == 2
    assert listing.count('data-testid="notification"') == 2
    assert listing.count("· unread") == 2
    assert "New bid of ¥60,000.00 on “Weld seam tracking”" in listing
    assert "Mark all as read" in listing


def test_a_user_without_notifications_sees_no_count(client, make_user, login):
    login(make_user())
    assert unread_badge(page(client.get("/"))) is None
    listing = page(client.get("/notifications"))
    assert "Nothing yet." in listing and "Mark all as read" not in listing


def test_opening_a_notification_marks_it_read_and_follows_its_link(client, market, two_bids, login):
    first, second = notifications_of(market.owner)
    login(market.owner)

    response = client.post(f"/notifications/{first.id}/open")

    assert response.status_code == 302
    assert response.headers["Location"] == f"/tasks/{market.task.id}/bids"
    assert reload(Notification, first.id).read_at is not None
    assert reload(Notification, second.id).read_at is None
    assert unread_badge(page(client.get("/notifications"))) == 1


def test_mark_all_as_read(client, market, two_bids, login):
    login(market.owner)

    response = client.post("/notifications/read", follow_redirects=True)

    assert response.status_code == 200
    listing = page(response)
    assert "All notifications are marked as read." in listing
    assert unread_badge(listing) is None and "· unread" not in listing
    assert all(n.read_at is not None for n in notifications_of(market.owner))


def test_mark_all_as_read_leaves_other_users_notifications_alone(
    client, make_user, market, two_bids, login
):
    bidder = two_bids[0].bidder
    with transaction():
        notify([bidder], Kind.BID_SHORTLISTED, "/bids/1", market.task, task=market.task.title)
    login(bidder)
    client.post("/notifications/read")
    assert all(n.read_at is None for n in notifications_of(market.owner))


def test_another_users_notification_cannot_be_opened(client, make_user, market, two_bids, login):
    mine = notifications_of(market.owner)[0]
    snooper = two_bids[0].bidder
    login(snooper)

    response = client.post(f"/notifications/{mine.id}/open")

    assert response.status_code in (302, 403, 404)
    assert response.headers.get("Location", "") != mine.link
    assert reload(Notification, mine.id).read_at is None
    assert "Weld seam tracking" not in page(client.get("/notifications"))
    login(market.owner)
    assert unread_badge(page(client.get("/"))) == 2


def test_opening_a_notification_needs_the_csrf_token(client, market, two_bids, login):
    mine = notifications_of(market.owner)[0]
    login(market.owner)
    assert client.post(f"/notifications/{mine.id}/open", csrf=False).status_code == 400
    assert client.post("/notifications/read", csrf=False).status_code == 400
    assert reload(Notification, mine.id).read_at is None


# --- e-mail ---------------------------------------------------------------------------------


def test_mail_goes_out_in_the_readers_language(
    client, make_bid, make_user, market, login, outbox, monkeypatch
):
    """The enterprise works in English; one bidder reads Chinese, the other English."""
    chinese = make_user(name="张伟", locale="zh_CN")
    english = make_user(name="Emma Brown", locale="en")
    bids = {user.id: make_bid(user, market.task) for user in (chinese, english)}
    rendered_in = {}
    subject = messages.subject

    def subject_recording_the_locale(notification):
        rendered_in.setdefault(notification.user_id, set()).add(str(get_locale()))
        return subject(notification)

    monkeypatch.setattr(messages, "subject", subject_recording_the_locale)
    login(market.owner)
    outbox.clear()

    for bid in bids.values():
        response = client.post(f"/bids/{bid.id}/reject", data={"reason": "Budget cut"})
        assert response.status_code == 302

    title = market.task.title
    [to_chinese] = mails_to(outbox, chinese)
    with force_locale("zh_CN"):
        assert to_chinese.subject == gettext("Your bid on “%(task)s” was not selected", task=title)
        assert gettext("Reason given: %(reason)s", reason="Budget cut") in to_chinese.body
    [to_english] = mails_to(outbox, english)
    assert to_english.subject == f"Your bid on “{title}” was not selected"
    assert "Reason given: Budget cut" in to_english.body
    # whatever the catalog holds, each mail was written in its reader's language
    assert rendered_in == {chinese.id: {"zh_Hans_CN"}, english.id: {"en"}}
    # and the enterprise's own page stays in English
    assert '<html lang="en">' in page(client.get(f"/tasks/{market.task.id}/bids"))


def test_only_important_kinds_are_mailed(client, make_bid, make_user, market, login, outbox):
    bidder = make_user()
    bid = make_bid(bidder, market.task)
    login(market.owner)
    outbox.clear()

    client.post(f"/bids/{bid.id}/shortlist")

    assert len(notifications_of(bidder, Kind.BID_SHORTLISTED)) == 1
    assert outbox == []


def test_a_user_who_turned_mail_off_gets_only_the_notification(
    client, make_bid, make_user, market, login, outbox
):
    quiet = make_user(email_notifications=False)
    loud = make_user()
    quiet_bid, loud_bid = make_bid(quiet, market.task), make_bid(loud, market.task)
    login(market.owner)

    for bid in (quiet_bid, loud_bid):
        client.post(f"/bids/{bid.id}/reject", data={"reason": "Another approach"})

    assert len(notifications_of(quiet, Kind.BID_REJECTED)) == 1
    assert mails_to(outbox, quiet) == []
    assert len(mails_to(outbox, loud)) == 1


def test_the_mail_job_checks_again_that_the_reader_wants_mail(make_user, market, outbox):
    reader = make_user()
    with transaction():
        [notification] = notify(
            [reader], Kind.BID_REJECTED, "/bids/1", market.task, task="T", reason=""
        )
        # the reader turns mail off before the job (enqueued by notify) runs
        reader.email_notifications = False
    assert mails_to(outbox, reader) == []

    jobs.send_notification_email(notification.id)  # a retried or late job

    assert mails_to(outbox, reader) == []
    assert reload(Notification, notification.id).emailed_at is None


def test_no_mail_when_the_transaction_rolls_back(make_user, market, outbox):
    reader = make_user()
    with pytest.raises(RuntimeError), transaction():
        notify([reader], Kind.BID_REJECTED, "/bids/1", market.task, task="T", reason="")
        raise RuntimeError("the action failed after notifying")
    assert notifications_of(reader) == []
    assert outbox == []


def test_each_reader_is_notified_once(make_user, market, outbox):
    reader = make_user()
    with transaction():
        notify(
            [reader, reader, None],
            Kind.BID_AWARDED,
            "/contracts/1",
            market.task,
            task="T",
            number="CS-2030-000001",
        )
    assert len(notifications_of(reader)) == 1
    assert len(mails_to(outbox, reader)) == 1
    assert "CS-2030-000001" in outbox[0].subject


# --- the log mail backend -------------------------------------------------------------------


def test_without_mail_settings_mail_goes_to_the_log_backend():
    assert from_environment({})["MAIL_BACKEND"] == "crowdsource.mail.LogEmailBackend"
    assert from_environment({"MAIL_SERVER": "smtp.example.com"})["MAIL_BACKEND"] == "smtp"


def test_the_log_backend_writes_each_mail_to_the_log(app, caplog):
    with app.app_context():
        backend = LogEmailBackend()
        mails = [
            EmailMessage("Hello", "First body", "noreply@example.com", ["a@example.com"]),
            EmailMessage("Again", "Second body", "noreply@example.com", ["b@example.com"]),
        ]
        with caplog.at_level(logging.INFO, logger="crowdsource.mail"):
            assert backend.send_messages(mails) == 2
    logged = [record.getMessage() for record in caplog.records if record.name == "crowdsource.mail"]
    assert logged == [
        "mail to a@example.com: Hello\nFirst body",
        "mail to b@example.com: Again\nSecond body",
    ]


def test_a_notification_mail_is_logged_by_the_default_backend(
    app, make_user, market, caplog, monkeypatch, outbox
):
    monkeypatch.setattr(app.extensions["mailman"], "backend", from_environment({})["MAIL_BACKEND"])
    reader = make_user(email="reader@example.com")
    with caplog.at_level(logging.INFO, logger="crowdsource.mail"), transaction():
        notify(
            [reader],
            Kind.BID_REJECTED,
            "/bids/7",
            market.task,
            task="Weld seam tracking",
            reason="Too late",
        )
    assert outbox == []
    [record] = [r for r in caplog.records if r.name == "crowdsource.mail"]
    text = record.getMessage()
    assert text.startswith("mail to reader@example.com: Your bid on “Weld seam tracking”")
    assert "Reason given: Too late" in text and "/bids/7" in text
