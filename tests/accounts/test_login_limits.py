"""The limits on signing in slow guessers and sprayers without locking the owner out: counted
before the password is checked (no extra tries under concurrency), per account and client
address, per account from everywhere, per client address and across the accounts it tries."""

import re
import threading
import uuid

import pytest
import redis
import sqlalchemy as sa

from crowdsource.accounts.models import LoginAttempt
from crowdsource.db import db
from tests.helpers import PASSWORD, PATIENCE
from tests.plugin import Client

NEW_PASSWORD = "a fresh and long passphrase"
LINK = re.compile(r"http://crowdsource\.test(/password/reset/[^\s]+)")
GUESSER, OWNER = "203.0.113.66", "198.51.100.7"


def browser(app, ip):
    app.test_client_class = Client
    client = app.test_client()
    client.environ_base.update(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=ip)
    return client


def log_in(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def attempts():
    db.session.expire_all()
    return db.session.execute(sa.select(LoginAttempt.ip, LoginAttempt.succeeded)).all()


def test_a_strangers_failed_logins_neither_stop_the_owner_signing_in_nor_resetting(
    app, db, make_user, outbox
):
    user = make_user(email="zhao@example.com")
    stranger = browser(app, GUESSER)
    for _ in range(5):
        assert log_in(stranger, user.email, "wrong password").status_code == 400
    refused = log_in(stranger, user.email)
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "Too many failed logins for this account." in page
    assert 'href="/password/forgot"' in page  # the way in for an owner, whatever the limits
    # The owner, elsewhere, signs in, and can reset the password too.
    owner = browser(app, OWNER)
    assert log_in(owner, user.email).status_code == 302
    owner.post("/logout")
    assert owner.post("/password/forgot", data={"email": user.email}).status_code == 200
    (path,) = [LINK.search(message.body).group(1) for message in outbox]
    assert owner.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code
    owner.post("/logout")
    assert log_in(owner, user.email, NEW_PASSWORD).status_code == 302


def test_from_the_guessers_own_address_the_locked_account_can_still_be_reset(
    app, db, make_user, outbox
):
    user = make_user(email="zhao@example.com")
    shared = browser(app, GUESSER)  # an office behind one address: a colleague guessed
    for _ in range(5):
        log_in(shared, user.email, "wrong password")
    assert log_in(shared, user.email).status_code == 429
    response = shared.post("/password/forgot", data={"email": user.email})
    assert response.status_code == 200 and len(outbox) == 1
    path = LINK.search(outbox[0].body).group(1)
    response = shared.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302  # signed in: the reset ended the run of failures
    shared.post("/logout")
    assert log_in(shared, user.email, NEW_PASSWORD).status_code == 302


def test_the_accounts_ceiling_counts_every_address_and_a_reset_ends_it(
    app, db, make_user, outbox, monkeypatch
):
    monkeypatch.setitem(app.config, "LOGIN_THROTTLE_ACCOUNT_FAILURES", 6)
    user = make_user(email="zhao@example.com")
    for number in range(3):  # a guesser with three addresses, two tries from each
        guesser = browser(app, f"203.0.113.{number + 1}")
        for _ in range(2):
            assert log_in(guesser, user.email, "wrong password").status_code == 400
    owner = browser(app, OWNER)
    assert log_in(owner, user.email).status_code == 429
    owner.post("/password/forgot", data={"email": user.email})
    path = LINK.search(outbox[0].body).group(1)
    owner.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    owner.post("/logout")
    assert log_in(owner, user.email, NEW_PASSWORD).status_code == 302


def test_failed_logins_spread_over_eight_accounts_from_one_client_are_slowed(
    app, db, make_user, monkeypatch
):
    monkeypatch.setitem(app.config, "LOGIN_THROTTLE_SPRAY_ACCOUNTS", 5)
    users = [make_user(email=f"user{number}@example.com") for number in range(8)]
    sprayer = browser(app, GUESSER)
    statuses = [log_in(sprayer, user.email, "Summer2026!").status_code for user in users]
    assert statuses == [400] * 5 + [429] * 3
    response = log_in(sprayer, users[7].email)
    assert "Too many failed logins from your address." in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= 60 * 60
    # Only what was tried is recorded: the refused tries checked no password.
    assert sorted(attempts()) == [(GUESSER, False)] * 5
    # Another client signs in to any of them.
    assert log_in(browser(app, OWNER), users[7].email).status_code == 302


def test_colleagues_signing_in_behind_one_address_are_not_counted_as_spraying(
    app, db, make_user, monkeypatch
):
    monkeypatch.setitem(app.config, "LOGIN_THROTTLE_SPRAY_ACCOUNTS", 2)
    monkeypatch.setitem(app.config, "LOGIN_THROTTLE_CLIENT_FAILURES", 2)
    office = browser(app, GUESSER)
    for number in range(6):
        user = make_user(email=f"colleague{number}@example.com")
        assert log_in(office, user.email).status_code == 302
        office.post("/logout")


def test_behind_a_proxy_the_spraying_limit_counts_the_real_client(counting_app, db, make_user):
    proxied = counting_app(None, PROXY_COUNT=1, LOGIN_THROTTLE_SPRAY_ACCOUNTS=2)
    proxy = browser(proxied, "10.0.0.2")
    users = [make_user(email=f"user{number}@example.com") for number in range(3)]

    def via(address):
        return {"X-Forwarded-For": address}

    tries = [
        proxy.post(
            "/login", data={"email": user.email, "password": "x" * 12}, headers=via(GUESSER)
        ).status_code
        for user in users
    ]
    assert tries == [400, 400, 429]
    response = proxy.post(
        "/login", data={"email": users[2].email, "password": PASSWORD}, headers=via(OWNER)
    )
    assert response.status_code == 302


@pytest.mark.postgresql
@pytest.mark.committing
def test_sixteen_concurrent_wrong_passwords_get_exactly_the_configured_tries(app, make_user):
    make_user(email="zhao@example.com")
    db.session.commit()
    email = "zhao@example.com"  # the threads read no object of this session
    tries = app.config["LOGIN_THROTTLE_FAILURES"]
    barrier = threading.Barrier(16)
    statuses = []

    def guess():
        client = browser(app, GUESSER)
        client.get("/login")  # the session and its CSRF token, before the race
        barrier.wait(timeout=PATIENCE)
        statuses.append(log_in(client, email, "wrong password").status_code)

    threads = [threading.Thread(target=guess) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)
    assert not any(thread.is_alive() for thread in threads), "a sign-in is stuck"
    assert sorted(statuses) == [400] * tries + [429] * (16 - tries)
    assert attempts() == [(GUESSER, False)] * tries
    # the right password from there waits too; the owner elsewhere signs in
    assert log_in(browser(app, GUESSER), email).status_code == 429
    assert log_in(browser(app, OWNER), email).status_code == 302


def test_on_redis_successes_are_given_back_and_failures_counted_for_every_server(
    counting_app, db, make_user, redis_url
):
    prefix = f"crowdsource:test:{uuid.uuid4().hex}"
    servers = [
        counting_app(redis_url, LOGIN_THROTTLE_CLIENT_FAILURES=2, RATELIMIT_KEY_PREFIX=prefix)
        for _ in "ab"
    ]
    first, second = (browser(server, GUESSER) for server in servers)
    for number in range(3):
        user = make_user(email=f"colleague{number}@example.com")
        assert log_in(first if number % 2 else second, user.email).status_code == 302
    assert log_in(first, "a@example.com", "wrong password").status_code == 400
    assert log_in(second, "b@example.com", "wrong password").status_code == 400
    assert log_in(first, "colleague0@example.com").status_code == 429
    connection = redis.Redis.from_url(redis_url)
    connection.delete(*connection.keys(f"{prefix}*"))
