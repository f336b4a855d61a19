"""Login, logout, remember me, safe redirects, throttling, password change, cookies."""

import pytest
import sqlalchemy as sa

from crowdsource.accounts import services
from crowdsource.accounts.models import LoginAttempt
from crowdsource.db import transaction
from tests.helpers import PASSWORD, form_errors


def log_in(client, email, password=PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def test_login_with_right_password_logs_in_and_logout_logs_out(client, make_user):
    user = make_user(email="solver@example.com", name="Zhao Lei")
    response = log_in(client, "Solver@Example.com")
    assert response.status_code == 302
    assert "Zhao Lei" in client.get("/").get_data(as_text=True)
    assert client.get("/account/profile").status_code == 200
    client.post("/logout")
    assert client.get("/account/profile").status_code == 302
    assert user.id


def test_wrong_password_shows_a_message_and_is_recorded(client, db, make_user):
    make_user(email="solver@example.com")
    response = log_in(client, "solver@example.com", "wrong password!")
    assert response.status_code == 400
    assert form_errors(response)["password"] == ["Wrong email or password."]
    attempt = db.session.scalar(sa.select(LoginAttempt))
    assert attempt.email == "solver@example.com" and attempt.succeeded is False


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/orgs", "/orgs"),
        ("https://evil.example.com/", "/"),
        ("//evil.example.com/", "/"),
        ("/\\evil.example.com", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_is_followed_only_when_local(client, make_user, target, expected):
    make_user(email="solver@example.com")
    response = log_in(client, "solver@example.com", next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_login_required_page_sends_to_login_and_back(client, make_user):
    make_user(email="solver@example.com")
    response = client.get("/orgs")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=%2Forgs")
    response = log_in(client, "solver@example.com", next="/orgs")
    assert response.headers["Location"] == "/orgs"


def test_sixth_attempt_within_15_minutes_gets_429_even_with_right_password(client, make_user):
    make_user(email="solver@example.com")
    for _ in range(5):
        assert log_in(client, "solver@example.com", "wrong password!").status_code == 400
    response = log_in(client, "solver@example.com")
    assert response.status_code == 429
    assert "Too many failed logins for this account. Try again in 15 minutes." in (
        response.get_data(as_text=True)
    )
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    # Another account is not affected.
    make_user(email="other@example.com")
    assert log_in(client, "other@example.com").status_code == 302


def test_throttle_ends_after_15_minutes(client, make_user, clock):
    make_user(email="solver@example.com")
    for _ in range(5):
        assert log_in(client, "solver@example.com", "nope nope").status_code == 400
        clock.advance(minutes=1)
    clock.advance(minutes=9)
    assert log_in(client, "solver@example.com").status_code == 429
    clock.advance(minutes=1, seconds=1)
    assert log_in(client, "solver@example.com").status_code == 302


def test_a_success_resets_the_count_of_failures(db, make_user):
    make_user(email="solver@example.com")
    for _ in range(2):
        with transaction():
            for _ in range(4):
                assert services.authenticate("solver@example.com", "nope nope") is None
        with transaction():
            assert services.authenticate("solver@example.com", PASSWORD) is not None
    assert services.authenticate("solver@example.com", "nope nope") is None


def test_unknown_account_is_throttled_too(client, db):
    for _ in range(5):
        assert log_in(client, "nobody@example.com", "some password").status_code == 400
    assert log_in(client, "nobody@example.com", "some password").status_code == 429


def test_session_cookie_is_httponly_and_samesite_lax(client, make_user):
    make_user(email="solver@example.com")
    response = log_in(client, "solver@example.com", remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    remember_cookie = next(c for c in cookies if c.startswith("remember_token="))
    for cookie in (session_cookie, remember_cookie):
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # only in production


def test_remember_me_keeps_the_user_logged_in_without_the_session(client, make_user):
    make_user(email="solver@example.com", name="Zhao Lei")
    log_in(client, "solver@example.com", remember="y")
    client.delete_cookie("session")
    assert "Zhao Lei" in client.get("/").get_data(as_text=True)


def test_without_remember_me_losing_the_session_logs_out(client, make_user):
    make_user(email="solver@example.com", name="Zhao Lei")
    log_in(client, "solver@example.com")
    client.delete_cookie("session")
    assert "Zhao Lei" not in client.get("/").get_data(as_text=True)


def change_password(client, current, new, confirm=None):
    return client.post(
        "/account/password",
        data={"current_password": current, "new_password": new, "confirm": confirm or new},
    )


def test_change_password_needs_the_current_one(client, make_user, login):
    user = make_user()
    login(user)
    response = change_password(client, "not my password", "a brand new passphrase")
    assert response.status_code == 400
    assert form_errors(response)["current_password"] == ["The current password is wrong."]
    response = change_password(client, PASSWORD, "1234567890")
    assert form_errors(response)["new_password"] == [
        "This password is too common. Choose one that is harder to guess."
    ]


def test_changed_password_works_and_other_sessions_end(app, client, make_user, login):
    user = make_user(email="solver@example.com")
    other_device = app.test_client()
    log_in(other_device, "solver@example.com", remember="y")
    assert other_device.get("/account/profile").status_code == 200
    login(user)
    response = change_password(client, PASSWORD, "a brand new passphrase")
    assert response.status_code == 302
    assert client.get("/account/profile").status_code == 200  # this session stays
    assert other_device.get("/account/profile").status_code == 302  # the other one ended
    client.post("/logout")
    assert log_in(client, "solver@example.com").status_code == 400
    assert log_in(client, "solver@example.com", "a brand new passphrase").status_code == 302


def test_messages_meant_for_a_user_are_not_shown_after_logout(client, make_user, login):
    login(make_user())
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Awarded. Contract CS-2026-000007 has been created.")]
    client.post("/logout")
    page = client.get("/").get_data(as_text=True)
    assert "You are logged out." in page and "CS-2026-000007" not in page
