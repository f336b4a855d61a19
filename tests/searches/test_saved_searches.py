"""Saved searches: saving the list's search, one's own list of them, and the daily digest of
new matching tasks (once, only tasks the reader may see, stopped by a signed link)."""

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from crowdsource import sweep
from crowdsource.db import db as _db
from crowdsource.searches.models import SavedSearch, SearchDigest
from tests.tasks.helpers import notifications_of


@pytest.fixture
def poster(make_user, make_org, make_task):
    """``poster(title, **overrides)``: an open task of one enterprise, bidding for 30 days."""
    owner = make_user()
    organization = make_org(owner)

    def post(title, **overrides):
        values = dict(summary="A challenge.", description="Details.", fields=[], skills=[])
        values.update(overrides)
        return make_task(owner, organization, title=title, **values)

    post.owner, post.organization = owner, organization
    return post


def saved_of(user):
    query = sa.select(SavedSearch).filter_by(user_id=user.id).order_by(SavedSearch.id)
    return list(_db.session.scalars(query))


def save(client, **arguments):
    return client.post("/searches", data=arguments)


def test_a_signed_in_user_saves_the_lists_search_and_lists_and_deletes_it(
    client, db, login, make_user
):
    page = client.get("/tasks?q=vision").get_data(as_text=True)
    assert 'data-testid="save-search"' not in page  # visitors have nothing to save it to
    assert save(client, q="vision").status_code == 302  # to the login page
    solver = make_user()
    login(solver)
    page = client.get("/tasks?q=machine+vision&contract_type=development&status=all")
    form = page.get_data(as_text=True)
    assert 'name="q" value="machine vision"' in form
    assert 'name="contract_type" value="development"' in form
    response = save(client, q="machine vision", contract_type="development", status="all")
    assert response.status_code == 302 and response.location == "/searches"
    assert [s.arguments for s in saved_of(solver)] == [
        {"q": "machine vision", "contract_type": "development", "status": "all"}
    ]
    listed = client.get("/searches").get_data(as_text=True)
    assert "“machine vision”" in listed and "Contract type: Technology development" in listed
    assert 'href="/tasks?q=machine+vision&amp;contract_type=development&amp;status=all"' in listed
    again = save(client, q="machine vision", contract_type="development", status="all")
    assert again.status_code == 409
    assert "You have saved this search already." in again.get_data(as_text=True)
    [search] = saved_of(solver)
    assert client.post(f"/searches/{search.id}/delete").status_code == 302
    assert saved_of(solver) == []
    assert "You have no saved searches yet." in client.get("/searches").get_data(as_text=True)


def test_nobody_sees_or_deletes_anothers_saved_search(client, db, login, make_user):
    owner, other = make_user(), make_user()
    login(owner)
    save(client, q="kiln")
    [search] = saved_of(owner)
    login(other)
    assert "kiln" not in client.get("/searches").get_data(as_text=True)
    assert client.post(f"/searches/{search.id}/delete").status_code == 404
    assert client.post(f"/searches/{search.id + 1000}/delete").status_code == 404
    assert client.post(f"/searches/{search.id}/delete", csrf=False).status_code == 400
    assert saved_of(owner) == [search]


def digest_mails(outbox):
    return [m for m in outbox if "saved search" in m.subject or "保存的搜索" in m.subject]


def test_the_daily_digest_lists_new_matching_tasks_the_reader_may_see_once(
    client, db, login, make_user, clock, outbox, poster
):
    reader = make_user(timezone="Asia/Shanghai")
    old = poster("Vision inspection of welds")
    login(reader)
    save(client, q="vision inspection")
    clock.advance(hours=2)
    both = poster("Solder inspection by machine vision")
    one = poster("Gearbox inspection")
    poster("Kiln temperature control")  # matches no word
    hidden = poster("Vision inspection, invited only", visibility="invite_only",
                    invited_users=[make_user()])  # fmt: skip
    sweep.sweep_due()
    assert digest_mails(outbox) == []  # not a day yet
    clock.advance(days=1)
    sweep.sweep_due()
    [mail] = digest_mails(outbox)
    assert mail.to == [reader.email]
    assert mail.subject == "2 new tasks match your saved search “vision inspection”"
    body = mail.body
    assert body.index("Solder inspection by machine vision") < body.index("Gearbox inspection")
    assert f"/tasks/{both.id}" in body and f"/tasks/{one.id}" in body
    assert old.title not in body and hidden.title not in body and "Kiln" not in body
    assert mail.extra_headers["List-Unsubscribe"].startswith("<http")
    assert mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [note] = notifications_of(reader, "saved_search_matches")
    assert note.link == "/tasks?q=vision+inspection"
    # Swept again, the same day or the next with nothing new: no further mail.
    sweep.sweep_due()
    clock.advance(days=1, hours=1)
    sweep.sweep_due()
    assert len(digest_mails(outbox)) == 1
    poster("Vision inspection of castings")
    clock.advance(days=1, hours=1)
    sweep.sweep_due()
    assert len(digest_mails(outbox)) == 2
    assert "castings" in digest_mails(outbox)[1].body
    assert "Solder" not in digest_mails(outbox)[1].body


def test_the_digest_is_in_the_readers_language_and_time_zone(
    client, db, login, make_user, clock, outbox, poster
):
    clock.move_to("2027-03-01T23:30:00+00:00")
    reader = make_user(locale="zh_CN", timezone="America/New_York")
    login(reader)
    save(client, q="视觉检测")
    clock.advance(minutes=10)
    poster("视觉检测系统")
    clock.advance(days=1)
    sweep.sweep_due()
    [mail] = digest_mails(outbox)
    assert mail.subject == "1 个新技术需求符合您保存的搜索 “视觉检测”"
    # Saved at 23:30 UTC on 1 March: 18:30 on 1 March in New York.
    assert "2027年3月1日 18:30" in mail.body, mail.body


def test_the_unsubscribe_link_stops_the_digest_and_cannot_be_forged(
    client, db, login, make_user, clock, outbox, poster
):
    reader = make_user()
    login(reader)
    save(client, q="robot")
    save(client, q="kiln")
    clock.advance(hours=1)
    poster("Robot cell")
    clock.advance(days=1)
    sweep.sweep_due()
    [mail] = digest_mails(outbox)
    link = re.search(r"Stop these e-mails \(no sign-in needed\): (\S+)", mail.body).group(1)
    path = urlsplit(link).path
    assert mail.extra_headers["List-Unsubscribe"] == f"<{link}>"
    client.post("/logout")
    token = path.rsplit("/", 1)[1]
    assert client.get(f"/searches/stop/{token[:-2]}xy").status_code == 404
    assert client.post(f"/searches/stop/{token}x", data={}).status_code == 404
    assert client.post(path, data={}, csrf=False).status_code == 400  # neither button nor client
    page = client.get(path)
    assert page.status_code == 200 and "Stop these e-mails" in page.get_data(as_text=True)
    # The one-click unsubscribe of mail clients (RFC 8058), signed in or not.
    stopped = client.post(path, data={"List-Unsubscribe": "One-Click"}, csrf=False)
    assert "you get no more e-mails" in stopped.get_data(as_text=True)
    robot, kiln = saved_of(reader)
    assert not robot.alerts and kiln.alerts
    poster("Robot gripper")
    poster("Kiln burner")
    clock.advance(days=1, hours=1)
    sweep.sweep_due()
    [second] = digest_mails(outbox)[1:]
    assert "Kiln burner" in second.body and "Robot gripper" not in second.body
    digests = _db.session.scalars(sa.select(SearchDigest).filter_by(saved_search_id=robot.id))
    assert len(list(digests)) == 1
