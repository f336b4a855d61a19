"""Reminders tell their deadline in the reader's time zone and language (issue 13, point 8):
they store the moment in UTC and no longer print "UTC" times."""

import datetime as dt
import html
import zoneinfo

import pytest
from babel.dates import format_date, format_time, get_datetime_format

from crowdsource.db import transaction, utcnow
from crowdsource.disputes import services
from crowdsource.sweep import sweep_due
from tests.bids.support import notifications_of
from tests.payments.support import reload

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")


def local(moment, zone, locale):
    moment = moment.astimezone(zoneinfo.ZoneInfo(zone))  # to the minute: no seconds
    time, date = (
        format_time(moment, "short", locale=locale),
        format_date(moment, "medium", locale=locale),
    )
    return get_datetime_format("medium", locale=locale).format(time, date)


def listing(client, login, user):
    login(user)
    return html.unescape(client.get("/notifications").get_data(as_text=True))


def test_the_review_reminder_shows_the_automatic_release_in_the_readers_time(
    client, login, people, case
):
    with transaction():
        people.owner.timezone = "Europe/Berlin"
    due = reload(case.milestone).review_due_at
    assert sweep_due(due - dt.timedelta(hours=30))["review_reminders"] == 1

    [reminder] = notifications_of(people.owner, "review_ending")
    assert reminder.params["date"] == {"utc": due.astimezone(dt.UTC).isoformat()}
    shown = listing(client, login, people.owner)
    assert f"is released automatically on {local(due, 'Europe/Berlin', 'en')} unless" in shown
    assert "UTC" not in shown


def test_the_dispute_deadline_reminder_shows_the_deadline_in_the_readers_time(
    client, login, people, case
):
    with transaction():
        people.broker.locale = "zh_CN"  # Asia/Shanghai, the default zone
    opened = utcnow()
    with transaction():
        dispute = services.open_dispute(people.owner, case.milestone.id, "Misses defects.", opened)
    assert sweep_due(opened + dt.timedelta(days=4, hours=1))["disputes_reminders"] == 1

    [reminder] = notifications_of(people.broker, "dispute_deadline")
    respond_by = reload(dispute).respond_by
    assert reminder.params["date"] == {"utc": respond_by.astimezone(dt.UTC).isoformat()}
    shown = listing(client, login, people.broker)
    assert local(respond_by, "Asia/Shanghai", "zh_Hans_CN") in shown
    assert "UTC" not in shown
