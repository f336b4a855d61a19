"""Sessions that end: logout, the list of sessions, ending one or all others, idle and
remember-me lifetimes. A copy of a cookie is worth nothing once its session ended."""

import pytest
import sqlalchemy as sa

from crowdsource.accounts.models import UserSession
from crowdsource.db import db, transaction
from tests.helpers import PASSWORD
from tests.plugin import Client

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SAFARI_ON_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def signed_in_client(app, user, remember=False, user_agent=CHROME_ON_WINDOWS, ip="127.0.0.1"):
    """Another browser (a test client of its own) signed in as ``user``."""
    app.test_client_class = Client
    browser = app.test_client()
    browser.environ_base.update(
        HTTP_ACCEPT_LANGUAGE="en", HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip
    )
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    assert browser.post("/login", data=data).status_code == 302
    return browser


def copy_of(app, browser, *names):
    """A browser holding a copy of ``browser``'s cookies ``names`` (as a thief would)."""
    app.test_client_class = Client
    thief = app.test_client()
    thief.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    for name in names:
        cookie = browser.get_cookie(name)
        assert cookie is not None, name
        thief.set_cookie(name, cookie.value)
    return thief


def signed_in(browser):
    return browser.get("/account/profile").status_code == 200


@pytest.mark.parametrize("cookies", [("session",), ("remember_token",)])
def test_a_copied_cookie_works_until_logout_and_names_nobody_after_it(app, make_user, cookies):
    user = make_user(name="Zhao Lei")
    browser = signed_in_client(app, user, remember=True)
    before_logout = copy_of(app, browser, *cookies)
    assert signed_in(before_logout)  # the copy is as good as the original while it lives

    copied = copy_of(app, browser, "session", "remember_token")
    assert browser.post("/logout").status_code == 302
    assert not signed_in(browser)
    for thief in (before_logout, copied):
        assert not signed_in(thief)
        assert "Zhao Lei" not in thief.get("/").get_data(as_text=True)
    assert db.session.scalar(sa.select(UserSession.ended_at)) is not None


def test_the_security_page_lists_each_signed_in_device_and_place(app, client, make_user):
    user = make_user()
    signed_in_client(app, user, user_agent=SAFARI_ON_IPHONE, ip="114.114.114.114")
    here = signed_in_client(app, user, user_agent=CHROME_ON_WINDOWS, ip="10.1.2.3")
    page = here.get("/account/security").get_data(as_text=True)
    assert "Mobile Safari · iOS" in page and "China" in page and "114.114.114.114" in page
    assert "Chrome · Windows" in page and "local network" in page
    assert page.count("this browser") == 1


def test_a_user_ends_another_session_and_only_that_one(app, make_user):
    user = make_user()
    phone = signed_in_client(app, user, remember=True, user_agent=SAFARI_ON_IPHONE)
    laptop = signed_in_client(app, user)
    phone_session = db.session.scalars(
        sa.select(UserSession).filter_by(user_id=user.id).order_by(UserSession.id)
    ).first()
    response = laptop.post(f"/account/sessions/{phone_session.id}/end")
    assert response.status_code == 302
    assert not signed_in(phone)
    assert signed_in(laptop)


def test_ending_every_other_session_keeps_this_one(app, make_user):
    user = make_user()
    others = [signed_in_client(app, user, remember=True) for _ in range(3)]
    here = signed_in_client(app, user)
    response = here.post("/account/sessions/end-others", follow_redirects=True)
    assert "3 other sessions have been ended." in response.get_data(as_text=True)
    assert signed_in(here)
    assert not any(signed_in(other) for other in others)


def test_ending_this_browsers_session_from_the_list_logs_out(app, make_user):
    user = make_user()
    here = signed_in_client(app, user)
    (mine,) = db.session.scalars(sa.select(UserSession).filter_by(user_id=user.id)).all()
    here.post(f"/account/sessions/{mine.id}/end")
    assert not signed_in(here)


def test_nobody_ends_or_sees_another_users_session(app, make_user):
    victim, intruder = make_user(), make_user()
    victims_browser = signed_in_client(app, victim)
    (session,) = db.session.scalars(sa.select(UserSession).filter_by(user_id=victim.id)).all()
    intruders_browser = signed_in_client(app, intruder)
    assert intruders_browser.post(f"/account/sessions/{session.id}/end").status_code == 404
    assert f"session-{session.id}" not in intruders_browser.get("/account/security").get_data(
        as_text=True
    )
    assert signed_in(victims_browser)


def test_without_remember_me_a_session_ends_after_its_idle_hours(app, make_user, clock):
    user = make_user()
    browser = signed_in_client(app, user)
    clock.advance(hours=app.config["SESSION_IDLE_HOURS"] - 1)
    assert signed_in(browser)  # a request in time keeps it going
    clock.advance(hours=app.config["SESSION_IDLE_HOURS"] - 1)
    assert signed_in(browser)
    clock.advance(hours=app.config["SESSION_IDLE_HOURS"], minutes=1)
    assert not signed_in(browser)


def test_remember_me_lasts_its_days_and_then_ends(app, make_user, clock):
    user = make_user()
    browser = signed_in_client(app, user, remember=True)
    thief = copy_of(app, browser, "remember_token")
    clock.advance(days=29)
    assert signed_in(thief)
    clock.advance(days=1, minutes=1)
    assert not signed_in(thief)


def test_the_last_request_of_a_session_is_recorded(app, make_user, clock):
    user = make_user()
    browser = signed_in_client(app, user)
    (session,) = db.session.scalars(sa.select(UserSession).filter_by(user_id=user.id)).all()
    signed_in_at = session.last_seen_at
    later = clock.advance(minutes=5)
    browser.get("/")
    db.session.expire_all()
    assert session.last_seen_at > signed_in_at
    assert abs((session.last_seen_at - later).total_seconds()) < 60


def test_a_deactivated_account_is_signed_out_everywhere(app, make_user):
    user = make_user()
    browser = signed_in_client(app, user, remember=True)
    with transaction():
        user.active = False
    assert not signed_in(browser)


def test_an_account_equals_itself_however_it_was_read_and_no_other(app, make_user):
    first, second = make_user(), make_user()
    assert first != second and len({first, second}) == 2
    browser = signed_in_client(app, first)
    assert browser.get("/account/profile").status_code == 200
    with app.test_request_context():
        from crowdsource.accounts import sessions as session_rows

        (row,) = db.session.scalars(sa.select(UserSession).filter_by(user_id=first.id)).all()
        loaded = session_rows.load(f"{first.id}:nothing")  # a wrong key names nobody
        assert loaded is None
        row.raw_key = None
    assert first == db.session.get(type(first), first.id)
