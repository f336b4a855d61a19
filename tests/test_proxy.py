"""Behind an HTTPS reverse proxy (``PROXY_COUNT=1``): the client is the one the proxy saw, not
the proxy, for the API's rate limit and for the limit on failed logins; links are https. With no
trusted proxy, X-Forwarded-* headers change nothing. And a Redis that refuses or never answers
neither fails nor holds a request that counts."""

import logging
import re
import threading
import uuid

import pytest
import sqlalchemy as sa

from crowdsource import create_app
from crowdsource.accounts.models import LoginAttempt
from crowdsource.config import ConfigError, from_environment
from crowdsource.db import db as _db
from tests.helpers import PASSWORD, wait_until
from tests.plugin import Client, app_config
from tests.servers import SilentServer, free_port

#: the proxy's own address, as the app server sees it
PROXY = "10.0.0.2"


def new_address():
    """A client address no other test counts requests of (documentation ranges)."""
    number = uuid.uuid4().int
    return f"198.51.{number % 250}.{(number >> 8) % 250 + 1}"


def through_proxy(client_address, forged=None):
    """The headers of a browser's request from ``client_address`` on a page of the site, with
    those nginx adds (deploy/nginx.conf); the browser sent an X-Forwarded-For ``forged`` of its
    own, to which nginx appends the address it saw."""
    chain = f"{forged}, {client_address}" if forged else client_address
    return {
        # Over HTTPS Flask-WTF wants the Referer on this host: the host must be the public one.
        "Referer": "https://crowdsource.example.cn/login",
        "X-Forwarded-For": chain,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "crowdsource.example.cn",
        "X-Forwarded-Port": "443",
    }


@pytest.fixture(scope="module")
def proxied_app(app):
    """The app as configured behind nginx (PROXY_COUNT=1), on the database of ``app``."""
    proxied = create_app(app_config(app.config["SQLALCHEMY_DATABASE_URI"], PROXY_COUNT=1))
    proxied.test_client_class = Client
    yield proxied
    with proxied.app_context():
        _db.engine.dispose()


@pytest.fixture
def proxy(proxied_app, db):
    """A client of the proxied app: every request comes from the proxy's address."""
    client = proxied_app.test_client()
    client.environ_base.update(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=PROXY)
    return client


def api_statuses(client, times, headers=None):
    return [client.get("/api/v1/centers", headers=headers).status_code for _ in range(times)]


def log_in(client, email, password=PASSWORD, headers=None):
    data = {"email": email, "password": password}
    return client.post("/login", data=data, headers=headers)


def test_two_clients_behind_one_proxy_get_separate_api_limits(proxy, proxied_app, monkeypatch):
    monkeypatch.setitem(proxied_app.config, "API_RATE_LIMIT", 2)
    monkeypatch.setitem(proxied_app.config, "API_RATE_LIMIT_SECONDS", 3600)
    first, second = new_address(), new_address()
    assert api_statuses(proxy, 3, through_proxy(first)) == [200, 200, 429]
    # A client cannot dodge its limit by sending an X-Forwarded-For of its own: nginx appends
    # the address it saw, and only the last one is trusted.
    assert api_statuses(proxy, 1, through_proxy(first, forged=new_address())) == [429]
    assert api_statuses(proxy, 2, through_proxy(second)) == [200, 200]


def test_without_proxy_count_forged_forwarded_headers_are_ignored(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", 2)
    monkeypatch.setitem(app.config, "API_RATE_LIMIT_SECONDS", 3600)
    client.environ_base["REMOTE_ADDR"] = new_address()
    statuses = [
        client.get("/api/v1/centers", headers=through_proxy(new_address())).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    client.environ_base["REMOTE_ADDR"] = new_address()
    body = client.get("/api/v1/", headers=through_proxy(new_address())).get_json()
    assert body["openapi"] == "http://localhost/api/v1/openapi.json"


def test_login_throttle_counts_each_real_client_behind_the_proxy(
    proxy, proxied_app, db, make_user, monkeypatch
):
    monkeypatch.setitem(proxied_app.config, "LOGIN_THROTTLE_CLIENT_FAILURES", 3)
    user = make_user(email="solver@example.com")
    guesser, owner = new_address(), new_address()
    # Three accounts tried once each: no account is near its own limit, the client is at its.
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        assert log_in(proxy, email, "wrong password", through_proxy(guesser)).status_code == 400
    response = log_in(proxy, user.email, headers=through_proxy(guesser))
    assert response.status_code == 429
    assert "Too many failed logins from your address." in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    # The account's owner, behind the same proxy, logs in.
    assert log_in(proxy, user.email, headers=through_proxy(owner)).status_code == 302
    attempts = db.session.execute(sa.select(LoginAttempt.ip, LoginAttempt.succeeded)).all()
    assert sorted(attempts) == sorted([(guesser, False)] * 3 + [(owner, True)])


def test_without_proxy_count_a_forged_address_does_not_dodge_the_login_throttle(
    client, app, db, make_user, monkeypatch
):
    monkeypatch.setitem(app.config, "LOGIN_THROTTLE_CLIENT_FAILURES", 2)
    user = make_user(email="solver@example.com")
    client.environ_base["REMOTE_ADDR"] = guesser = new_address()
    for email in ("a@example.com", "b@example.com"):
        headers = through_proxy(new_address())
        assert log_in(client, email, "wrong password", headers).status_code == 400
    assert log_in(client, user.email, headers=through_proxy(new_address())).status_code == 429
    assert set(db.session.scalars(sa.select(LoginAttempt.ip))) == {guesser}


def test_behind_the_proxy_external_links_are_https_on_the_public_host(proxy):
    body = proxy.get("/api/v1/", headers=through_proxy(new_address())).get_json()
    assert body["openapi"] == "https://crowdsource.example.cn/api/v1/openapi.json"
    assert body["docs"] == "https://crowdsource.example.cn/api/v1/docs"


def test_a_forwarded_value_that_is_no_address_counts_as_the_proxy(proxy, db):
    log_in(proxy, "a@example.com", "wrong password", {"X-Forwarded-For": "x" * 300})
    assert set(db.session.scalars(sa.select(LoginAttempt.ip))) == {PROXY}


# --- a Redis that fails --------------------------------------------------------------------


@pytest.fixture
def silent_redis():
    server = SilentServer()
    yield f"redis://127.0.0.1:{server.port}/0", server
    server.close()


@pytest.fixture
def refusing_redis():
    """The URL of a port nobody listens on: connections are refused."""
    return f"redis://127.0.0.1:{free_port()}/0"


def within(seconds, action):
    """What ``action()`` returned, failing if it took longer than ``seconds``."""
    result = []
    thread = threading.Thread(target=lambda: result.append(action()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert result, f"no answer within {seconds} s"
    return result[0]


def redis_warnings(caplog):
    return [
        record
        for record in caplog.records
        if record.name == "flask-limiter" and record.levelno == logging.WARNING
    ]


def counting_client(app):
    client = app.test_client()
    client.environ_base.update(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=new_address())
    return client


def test_a_redis_that_never_answers_holds_only_one_request_briefly_and_limits_still_hold(
    counting_app, silent_redis, clock, caplog
):
    url, server = silent_redis
    clock.freeze()
    app = counting_app(url, API_RATE_LIMIT=2, API_RATE_LIMIT_SECONDS=3600)
    client = counting_client(app)
    # Each call to Redis waits at most REDIS_TIMEOUT_SECONDS; after the first has failed the
    # counting stays in memory: the limit still holds, and Redis is not asked again at once.
    assert within(10, lambda: api_statuses(client, 3)) == [200, 200, 429]
    wait_until(lambda: server.accepted, what="the connection to Redis")
    assert len(server.accepted) == 1
    [warning] = redis_warnings(caplog)
    assert "falling back to in-memory storage" in warning.getMessage()
    # A while later, Redis is tried again (and, still silent, costs that request a short wait).
    clock.advance(seconds=2)
    assert within(10, lambda: api_statuses(client, 1)) == [429]
    wait_until(lambda: len(server.accepted) >= 2, what="a new connection to Redis")
    assert len(redis_warnings(caplog)) == 1


def test_a_redis_that_refuses_connections_leaves_api_and_login_working(
    counting_app, db, make_user, refusing_redis, caplog
):
    app = counting_app(refusing_redis, API_RATE_LIMIT=1, LOGIN_THROTTLE_CLIENT_FAILURES=1)
    client = counting_client(app)
    user = make_user(email="solver@example.com")
    assert within(10, lambda: api_statuses(client, 2)) == [200, 429]
    assert log_in(client, "a@example.com", "wrong password").status_code == 400
    assert log_in(client, user.email).status_code == 429  # the client's limit, in memory
    client.environ_base["REMOTE_ADDR"] = new_address()
    assert log_in(client, user.email).status_code == 302
    assert len(redis_warnings(caplog)) == 1


# --- settings --------------------------------------------------------------------------------


def production(**settings):
    return {"CROWDSOURCE_ENV": "production", "SECRET_KEY": "a real secret", **settings}


def test_production_cookies_are_secure_unless_a_trial_turns_that_off():
    assert from_environment(production())["SESSION_COOKIE_SECURE"] is True
    trial = from_environment(production(SESSION_COOKIE_SECURE="0"))
    assert not trial["SESSION_COOKIE_SECURE"] and not trial["REMEMBER_COOKIE_SECURE"]


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"PROXY_COUNT": "one"}, "PROXY_COUNT must be a whole number (0 or more), not 'one'"),
        ({"PROXY_COUNT": "-1"}, "PROXY_COUNT must be a whole number"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be one of json, logfmt, not 'xml'"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR"),
    ],
)
def test_a_bad_setting_stops_the_start_with_a_message_that_says_why(setting, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        from_environment(production(**setting))
