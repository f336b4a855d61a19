"""A forgotten password: a link by mail, used once within the hour, that ends every session."""

import re

import pytest
import sqlalchemy as sa

from crowdsource.accounts.models import AccountLink
from crowdsource.db import db
from tests.helpers import PASSWORD, form_errors, table_counts
from tests.plugin import Client

NEW_PASSWORD = "a fresh and long passphrase"
SENT = "If an account uses %s, we have sent a link to it."
LINK = re.compile(r"http://crowdsource\.test(/password/reset/[^\s]+)")


def browser(app, ip="127.0.0.1"):
    app.test_client_class = Client
    client = app.test_client()
    client.environ_base.update(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=ip)
    return client


def ask_for_reset(client, email):
    return client.post("/password/forgot", data={"email": email})


def reset_links(outbox, user):
    return [LINK.search(m.body).group(1) for m in outbox if user.email in m.to]


def set_password(client, path, password=NEW_PASSWORD, confirm=None):
    return client.post(path, data={"password": password, "confirm": confirm or password})


def logs_in(client, email, password):
    client.post("/logout")
    return client.post("/login", data={"email": email, "password": password}).status_code == 302


def test_a_forgotten_password_is_replaced_through_the_mailed_link(client, make_user, outbox):
    user = make_user(email="zhao@example.com", name="Zhao Lei")
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in page
    response = ask_for_reset(client, "Zhao@Example.com")
    assert response.status_code == 200
    assert SENT % "Zhao@Example.com" in response.get_data(as_text=True)
    (path,) = reset_links(outbox, user)
    assert outbox[-1].subject == "Set a new password for Crowdsource"
    assert "60 minutes" in outbox[-1].body

    assert client.get(path).status_code == 200
    response = set_password(client, path)
    assert response.status_code == 302
    assert "Zhao Lei" in client.get("/").get_data(as_text=True)  # signed in
    assert not logs_in(client, "zhao@example.com", PASSWORD)
    assert logs_in(client, "zhao@example.com", NEW_PASSWORD)
    # used once: the same link again does not work
    assert client.get(path).status_code == 404
    assert set_password(client, path, "another passphrase here").status_code == 404
    assert logs_in(client, "zhao@example.com", NEW_PASSWORD)


def test_an_unknown_address_gets_the_same_answer_and_nothing_is_sent(client, make_user, outbox):
    make_user(email="zhao@example.com")
    known = ask_for_reset(client, "zhao@example.com").get_data(as_text=True)
    counts = table_counts()
    unknown = ask_for_reset(client, "nobody@example.com")
    assert unknown.status_code == 200
    assert unknown.get_data(as_text=True) == known.replace("zhao@", "nobody@")
    assert len(outbox) == 1 and table_counts() == counts


def test_the_link_works_for_an_hour_only(client, make_user, outbox, clock):
    user = make_user()
    ask_for_reset(client, user.email)
    (path,) = reset_links(outbox, user)
    clock.advance(minutes=59)
    assert client.get(path).status_code == 200
    clock.advance(minutes=2)
    response = client.get(path)
    assert response.status_code == 404
    assert "This link does not work" in response.get_data(as_text=True)
    assert set_password(client, path).status_code == 404
    assert logs_in(client, user.email, PASSWORD)


def test_a_newer_link_replaces_the_older_one(client, make_user, outbox):
    user = make_user()
    ask_for_reset(client, user.email)
    ask_for_reset(client, user.email)
    older, newer = reset_links(outbox, user)
    assert client.get(older).status_code == 404
    assert set_password(client, newer).status_code == 302


@pytest.mark.parametrize("tamper", ["token", "id", "purpose"])
def test_a_forged_or_altered_link_does_not_work(client, make_user, outbox, tamper):
    user = make_user()
    ask_for_reset(client, user.email)
    (path,) = reset_links(outbox, user)
    link_id, token = path.rsplit("/", 1)[1].split("-", 1)
    forged = {
        "token": f"/password/reset/{link_id}-{token[:-2]}AA",
        "id": f"/password/reset/{int(link_id) + 1}-{token}",
        "purpose": f"/account/verify/{link_id}-{token}",
    }[tamper]
    assert client.get(forged).status_code == 404
    assert (
        client.post(forged, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code
        == 404
    )
    assert logs_in(client, user.email, PASSWORD)


def test_a_reset_ends_every_other_session(app, client, make_user, outbox):
    user = make_user()
    laptop = browser(app)
    assert (
        laptop.post(
            "/login", data={"email": user.email, "password": PASSWORD, "remember": "y"}
        ).status_code
        == 302
    )
    ask_for_reset(client, user.email)
    (path,) = reset_links(outbox, user)
    set_password(client, path)
    assert laptop.get("/account/profile").status_code == 302
    laptop.delete_cookie("session")  # the remember-me cookie is worth nothing either
    assert laptop.get("/account/profile").status_code == 302
    assert client.get("/account/profile").status_code == 200


def test_a_locked_account_can_still_reset_and_then_log_in(client, make_user, outbox):
    user = make_user()
    for _ in range(5):
        client.post("/login", data={"email": user.email, "password": "wrong password!"})
    assert (
        client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 429
    )
    ask_for_reset(client, user.email)
    (path,) = reset_links(outbox, user)
    assert set_password(client, path).status_code == 302
    assert logs_in(client, user.email, NEW_PASSWORD)


def test_a_weak_new_password_is_refused_at_its_field_and_the_link_still_works(
    client, make_user, outbox
):
    user = make_user()
    ask_for_reset(client, user.email)
    (path,) = reset_links(outbox, user)
    response = set_password(client, path, "1234567890")
    assert response.status_code == 400
    assert form_errors(response)["password"] == [
        "This password is too common. Choose one that is harder to guess."
    ]
    response = set_password(client, path, NEW_PASSWORD, "something else entirely")
    assert form_errors(response)["confirm"] == ["The passwords do not match."]
    assert set_password(client, path).status_code == 302


def test_an_account_gets_a_few_links_an_hour_and_then_silence(app, client, make_user, outbox):
    user = make_user()
    allowed = app.config["ACCOUNT_LINKS_PER_HOUR"]
    for _ in range(allowed + 2):
        response = ask_for_reset(client, user.email)
        assert response.status_code == 200 and "we have sent a link" in response.get_data(
            as_text=True
        )
    assert len(reset_links(outbox, user)) == allowed


def test_one_address_asking_too_often_is_told_to_wait(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "RESET_REQUESTS_PER_CLIENT", 2)
    sprayer = browser(app, ip="203.0.113.9")
    for number in range(2):
        assert ask_for_reset(sprayer, f"someone{number}@example.com").status_code == 200
    response = ask_for_reset(sprayer, "someone3@example.com")
    assert response.status_code == 429
    assert form_errors(response)["email"] == [
        "Too many requests from your address. Try again in an hour."
    ]
    assert ask_for_reset(browser(app, ip="203.0.113.10"), "x@example.com").status_code == 200


def test_a_reset_link_stops_working_when_the_address_changes(client, make_user, outbox):
    user = make_user(email="old@example.com")
    ask_for_reset(client, user.email)
    (path,) = reset_links(outbox, user)
    link = db.session.scalar(sa.select(AccountLink))
    with db.session.begin_nested():
        user.email = "new@example.com"
    assert link.email == "old@example.com"
    assert client.get(path).status_code == 404


def test_the_link_is_on_the_public_address_whatever_host_the_request_named(
    app, client, make_user, outbox, monkeypatch
):
    user = make_user()
    # the session cookie (and its CSRF token) belongs to the test client's own host
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    client.post(
        "/password/forgot",
        data={"email": user.email},
        headers={"Host": "attacker.example"},
        csrf=False,
    )
    (message,) = outbox
    assert "attacker.example" not in message.body
    assert reset_links(outbox, user)  # on http://crowdsource.test, PUBLIC_URL
