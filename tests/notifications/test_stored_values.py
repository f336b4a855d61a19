"""Notifications store values, not sentences (issue 13, point 8): an amount is kept in fen and a
moment in UTC, and each is formatted when the notification is read — on the list and in the
e-mail — in the reader's language and time zone. Rows written before keep reading as stored."""

import datetime as dt
import html
import zoneinfo

import pytest
from babel.dates import format_date, format_time, get_datetime_format
from flask_babel import force_locale, gettext

from crowdsource.db import db, transaction
from crowdsource.notifications.models import Kind, Notification
from crowdsource.notifications.services import Amount, notify
from tests.bids.support import mails_to, notifications_of

#: 2026-12-05 04:00 UTC: noon in Shanghai, 23:00 the day before in New York
DEADLINE = dt.datetime(2026, 12, 5, 4, 0, tzinfo=dt.UTC)
SHANGHAI, NEW_YORK = "Asia/Shanghai", "America/New_York"


def page(response):
    return html.unescape(response.get_data(as_text=True))


def local(moment, zone, locale):
    """The moment as a reader in ``zone`` reading ``locale`` should see it (computed by Babel
    directly, not by the code under test)."""
    moment = moment.astimezone(zoneinfo.ZoneInfo(zone))  # to the minute: no seconds
    time, date = (
        format_time(moment, "short", locale=locale),
        format_date(moment, "medium", locale=locale),
    )
    return get_datetime_format("medium", locale=locale).format(time, date)


@pytest.fixture
def readers(make_user):
    """A Chinese reader in Shanghai and an English reader in New York."""
    return {
        "zh": make_user(name="王芳", locale="zh_CN", timezone=SHANGHAI),
        "en": make_user(name="Emma Brown", locale="en", timezone=NEW_YORK),
    }


@pytest.fixture
def task(make_user, make_org, make_task):
    owner = make_user()
    return make_task(owner, make_org(owner), title="Weld seam tracking")


def tell_both(readers, task, kind, **params):
    with transaction():
        notify(list(readers.values()), kind, f"/tasks/{task.id}", task, **params)


def subject_in(locale, msgid, **values):
    with force_locale(locale):
        return gettext(msgid, **values)


RULED = (
    "%(number)s: the dispute over “%(milestone)s” was ruled: %(release)s to the payee,"
    " %(refund)s back to the enterprise"
)
REVIEW = (
    "%(number)s: “%(milestone)s” is released automatically on %(date)s unless you"
    " accept it, ask for changes or open a dispute"
)


def test_amounts_and_moments_are_stored_as_fen_and_utc(readers, task):
    tell_both(
        readers,
        task,
        Kind.REVIEW_ENDING,
        number="CS-2026-000123",
        milestone="Prototype",
        date=DEADLINE,
    )
    tell_both(
        readers,
        task,
        Kind.DISPUTE_RULED,
        number="CS-2026-000123",
        milestone="Prototype",
        release=Amount(120_000),
        refund=Amount(0),
        reason="Half done.",
    )
    for reader in readers.values():
        review, ruled = notifications_of(reader)
        assert review.params == {
            "number": "CS-2026-000123",
            "milestone": "Prototype",
            "date": {"utc": "2026-12-05T04:00:00+00:00"},
        }
        assert ruled.params["release"] == {"fen": 120_000}
        assert ruled.params["refund"] == {"fen": 0}
        assert ruled.params["reason"] == "Half done."


def test_each_reader_sees_the_same_notification_in_their_language_and_time_zone(
    client, login, readers, task
):
    tell_both(
        readers,
        task,
        Kind.REVIEW_ENDING,
        number="CS-2026-000123",
        milestone="Prototype",
        date=DEADLINE,
    )
    tell_both(
        readers,
        task,
        Kind.DISPUTE_RULED,
        number="CS-2026-000123",
        milestone="Prototype",
        release=Amount(120_000),
        refund=Amount(35_050),
        reason="Half done.",
    )
    shown = {}
    for language, reader in readers.items():
        login(reader)
        shown[language] = page(client.get("/notifications"))

    zh_noon = local(DEADLINE, SHANGHAI, "zh_Hans_CN")
    en_evening = local(DEADLINE, NEW_YORK, "en")
    assert "12:00" in zh_noon and "11:00" in en_evening  # the two really differ
    number, milestone = "CS-2026-000123", "Prototype"
    assert (
        subject_in("zh_CN", REVIEW, number=number, milestone=milestone, date=zh_noon)
        in (shown["zh"])
    )
    assert (
        subject_in("en", REVIEW, number=number, milestone=milestone, date=en_evening)
        in (shown["en"])
    )
    amounts = dict(release="¥1,200.00", refund="¥350.50")
    assert subject_in("zh_CN", RULED, number=number, milestone=milestone, **amounts) in shown["zh"]
    assert subject_in("en", RULED, number=number, milestone=milestone, **amounts) in shown["en"]
    assert zh_noon not in shown["en"] and en_evening not in shown["zh"]
    for text in shown.values():
        assert "UTC" not in text and "120000" not in text


def test_the_mail_is_written_in_its_readers_language_and_time_zone(outbox, readers, task):
    outbox.clear()
    tell_both(
        readers,
        task,
        Kind.REVIEW_ENDING,
        number="CS-2026-000123",
        milestone="Prototype",
        date=DEADLINE,
    )
    tell_both(
        readers,
        task,
        Kind.DISPUTE_RULED,
        number="CS-2026-000123",
        milestone="Prototype",
        release=Amount(120_000),
        refund=Amount(0),
        reason="Half done.",
    )
    values = dict(number="CS-2026-000123", milestone="Prototype")
    zh_review, zh_ruled = mails_to(outbox, readers["zh"])
    assert zh_review.subject == subject_in(
        "zh_CN", REVIEW, date=local(DEADLINE, SHANGHAI, "zh_Hans_CN"), **values
    )
    assert zh_ruled.subject == subject_in(
        "zh_CN", RULED, release="¥1,200.00", refund="¥0.00", **values
    )
    en_review, en_ruled = mails_to(outbox, readers["en"])
    assert en_review.subject == subject_in(
        "en", REVIEW, date=local(DEADLINE, NEW_YORK, "en"), **values
    )
    assert en_ruled.subject.endswith("¥1,200.00 to the payee, ¥0.00 back to the enterprise")
    for mail in outbox:
        assert mail.subject in mail.body and "UTC" not in mail.body


def test_the_mail_follows_a_time_zone_changed_after_the_notification_was_written(
    app, outbox, readers, task
):
    """The text is made when the mail is sent: a reader who moved meanwhile reads their new
    local time."""
    from crowdsource.notifications import jobs

    reader = readers["en"]
    with transaction():
        reader.email_notifications = False
        [notification] = notify(
            [reader],
            Kind.REVIEW_ENDING,
            "/contracts/1",
            task,
            number="CS-1",
            milestone="M1",
            date=DEADLINE,
        )
        reader.email_notifications = True
        reader.timezone = "Europe/Berlin"
    jobs.send_notification_email(notification.id)
    [mail] = mails_to(outbox, reader)
    assert local(DEADLINE, "Europe/Berlin", "en") in mail.subject


def test_a_row_stored_before_values_were_typed_reads_as_it_was_stored(client, login, readers, task):
    reader = readers["en"]
    with transaction():
        for kind, params in [
            (Kind.BID_SUBMITTED, {"task": "Weld seam tracking", "amount": "¥60,000.00"}),
            (
                Kind.REVIEW_ENDING,
                {"number": "CS-1", "milestone": "M1", "date": "2026-12-05 04:00 UTC"},
            ),
        ]:
            db.session.add(
                Notification(user_id=reader.id, kind=kind, task_id=task.id, params=params, link="/")
            )
    login(reader)
    shown = page(client.get("/notifications"))
    assert "New bid of ¥60,000.00 on “Weld seam tracking”" in shown
    assert "CS-1: “M1” is released automatically on 2026-12-05 04:00 UTC unless" in shown


@pytest.mark.parametrize(
    "value, error",
    [
        (120_000, TypeError),
        (1200.0, TypeError),
        (dt.datetime(2026, 12, 5, 4, 0), ValueError),
    ],
)
def test_a_bare_number_or_a_naive_time_is_refused(readers, task, value, error):
    with pytest.raises(error), transaction():
        notify([readers["en"]], Kind.PAYOUT_SENT, "/", task, number="CS-1", amount=value)
    assert notifications_of(readers["en"]) == []


def test_an_amount_is_integer_fen():
    with pytest.raises(TypeError, match="integer fen"):
        Amount("1200.00")
    with pytest.raises(TypeError, match="integer fen"):
        Amount(True)
