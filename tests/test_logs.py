"""Logs an operator can read: one line per record (JSON or key=value) with the request's id,
a traceback inside its record, the id echoed in X-Request-ID, and gunicorn with
deploy/gunicorn.conf.py writing one access line per request."""

import json
import logging
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import fakeredis
import gunicorn.config
import pytest
from flask import Blueprint
from rq import Queue, SimpleWorker

from crowdsource import create_app
from crowdsource.db import db as _db
from crowdsource.logs import LineHandler, configure_logging
from tests.helpers import PATIENCE, wait_until
from tests.plugin import Client, app_config
from tests.workers import ROOT

test_views = Blueprint("test_views", __name__)


@test_views.get("/test/say")
def say():
    logging.getLogger("crowdsource.test").info("hello from %s", "a view")
    return "said"


@test_views.get("/test/fail")
def fail():
    raise RuntimeError("the view failed on purpose")


@pytest.fixture(scope="module")
def log_app(tmp_path_factory):
    """The app logging JSON, with two views of the test's own, on an empty SQLite database."""
    url = f"sqlite:///{tmp_path_factory.mktemp('logs')}/crowdsource.db"
    # PROPAGATE_EXCEPTIONS off: the error page and the log record, as in production.
    app = create_app(app_config(url, LOG_FORMAT="json", PROPAGATE_EXCEPTIONS=False))
    app.register_blueprint(test_views)
    app.test_client_class = Client
    with app.app_context():
        _db.create_all()
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def logs(log_app, capsys, monkeypatch):
    """The app's log lines on standard error, from the start of the test (``logs()``); logging
    set up as ``log_app`` says (another app of this process may have set it up since)."""
    monkeypatch.setitem(log_app.config, "LOG_FORMAT", "json")
    configure_logging(log_app)
    capsys.readouterr()
    return lambda: capsys.readouterr().err.splitlines()


@pytest.fixture
def web(log_app):
    client = log_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def records(lines):
    """Every line parsed as JSON: a line that is not (a stray traceback line) fails."""
    return [json.loads(line) for line in lines]


def test_a_requests_log_line_carries_its_request_id(web, logs):
    response = web.get("/test/say", headers={"X-Request-ID": "req-42.abc_DEF"})
    assert response.get_data(as_text=True) == "said"
    assert response.headers["X-Request-ID"] == "req-42.abc_DEF"
    [record] = [r for r in records(logs()) if r["logger"] == "crowdsource.test"]
    assert record["message"] == "hello from a view"
    assert record["request_id"] == "req-42.abc_DEF"
    assert record["level"] == "INFO" and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", record["time"])


def test_an_exception_in_a_view_is_one_json_record_with_its_traceback_and_a_500_page(web, logs):
    response = web.get("/test/fail", headers={"X-Request-ID": "failing-request-1"})
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)
    assert response.headers["X-Request-ID"] == "failing-request-1"
    lines = logs()
    [record] = [r for r in records(lines) if r["level"] == "ERROR"]
    assert record["message"] == "Exception on /test/fail [GET]"
    assert record["request_id"] == "failing-request-1"
    assert record["exc"].startswith("Traceback (most recent call last):")
    assert record["exc"].endswith("RuntimeError: the view failed on purpose")
    assert sum("Traceback" in line for line in lines) == 1  # and every line was JSON


def test_in_logfmt_a_traceback_stays_on_its_line(web, logs, log_app, monkeypatch):
    monkeypatch.setitem(log_app.config, "LOG_FORMAT", "logfmt")
    configure_logging(log_app)
    assert web.get("/test/fail", headers={"X-Request-ID": "kv-1"}).status_code == 500
    [line] = [line for line in logs() if "level=ERROR" in line]
    assert 'message="Exception on /test/fail [GET]"' in line
    assert "request_id=kv-1" in line
    assert 'exc="Traceback (most recent call last):\\n' in line
    assert line.endswith('RuntimeError: the view failed on purpose"')


@pytest.mark.parametrize("incoming", ["", "has spaces", "<script>", "a" * 65, "tab\there", "引号"])
def test_an_invalid_incoming_request_id_is_replaced(web, logs, incoming):
    response = web.get("/test/say", headers={"X-Request-ID": incoming})
    request_id = response.headers["X-Request-ID"]
    assert request_id != incoming and re.fullmatch(r"[0-9a-f]{32}", request_id)
    [record] = [r for r in records(logs()) if r["logger"] == "crowdsource.test"]
    assert record["request_id"] == request_id
    assert web.get("/test/say").headers["X-Request-ID"] != request_id  # one id per request


def test_every_response_has_a_request_id_even_a_refused_request(web):
    response = web.get("/test/say?q=%00")  # refused by a hook before any view
    assert response.status_code == 400
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_building_the_app_again_adds_no_second_handler(log_app, logs):
    create_app(app_config(log_app.config["SQLALCHEMY_DATABASE_URI"], LOG_FORMAT="json"))
    configure_logging(log_app)
    assert len([h for h in logging.getLogger().handlers if isinstance(h, LineHandler)]) == 1
    logging.getLogger("crowdsource.test").warning("only once")
    assert [r["message"] for r in records(logs())].count("only once") == 1


def log_from_a_job():
    logging.getLogger("crowdsource.test").warning("hello from a job")


def test_a_worker_that_built_the_app_logs_job_lines_with_the_job_id(log_app, logs):
    connection = fakeredis.FakeRedis()
    queue = Queue("test-logs", connection=connection)
    job = queue.enqueue(log_from_a_job)
    SimpleWorker([queue], connection=connection).work(burst=True)
    [record] = [r for r in records(logs()) if r["logger"] == "crowdsource.test"]
    assert (record["message"], record["job_id"]) == ("hello from a job", job.id)


# --- gunicorn with the deploy configuration ------------------------------------------------


def gunicorn_command(config):
    command = [sys.executable, "-m", "gunicorn", "-c", str(config), "--bind", "127.0.0.1:0"]
    if any(s.name == "control_socket_disable" for s in gunicorn.config.KNOWN_SETTINGS):
        command.append("--no-control-socket")  # gunicorn >= 25: one per user, by default
    return [*command, "wsgi:app"]


def fetch(url, headers):
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=PATIENCE) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_gunicorn_with_the_deploy_config_writes_one_access_line_per_request(tmp_path):
    url = f"sqlite:///{tmp_path}/crowdsource.db"
    schema_app = create_app(app_config(url))
    with schema_app.app_context():
        _db.create_all()
        _db.engine.dispose()
    env = dict(os.environ, CROWDSOURCE_ENV="production", SECRET_KEY="test-secret")
    env.update(DATABASE_URL=url, PROXY_COUNT="1", WEB_CONCURRENCY="1")
    env.update(SWEEP_ON_ACCESS_SECONDS="0", MAIL_BACKEND="locmem")
    env.update(UPLOAD_FOLDER=str(tmp_path / "uploads"))  # production needs an absolute one
    for name in ("REDIS_URL", "LOG_FORMAT", "GUNICORN_CMD_ARGS", "GUNICORN_BIND"):
        env.pop(name, None)
    out, err = tmp_path / "access.log", tmp_path / "error.log"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        server = subprocess.Popen(
            gunicorn_command(ROOT / "deploy" / "gunicorn.conf.py"),
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
    try:

        def listening():
            assert server.poll() is None, f"gunicorn exited:\n{err.read_text()}"
            return re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", err.read_text())

        port = wait_until(listening, what="gunicorn listening")[1]
        base = f"http://127.0.0.1:{port}"
        client = {"X-Forwarded-For": "203.0.113.9"}  # as nginx sends it
        assert fetch(f"{base}/", {**client, "X-Request-ID": "gunicorn-test-1"}) == 200
        assert fetch(f"{base}/no-such-page?x=1", {**client, "X-Request-ID": "bad id"}) == 404

        def access_lines():
            lines = [json.loads(line) for line in out.read_text().splitlines()]
            return lines if len(lines) >= 2 else None

        home, missing = wait_until(access_lines, what="two access lines")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=PATIENCE)
    assert len(out.read_text().splitlines()) == 2
    assert home["logger"] == "gunicorn.access" and home["message"] == "GET / 200"
    assert (home["method"], home["path"], home["status"]) == ("GET", "/", 200)
    assert home["bytes"] > 0 and home["duration_ms"] >= 0
    assert home["request_id"] == "gunicorn-test-1"
    assert home["client"] == "203.0.113.9"
    assert (missing["path"], missing["status"]) == ("/no-such-page?x=1", 404)
    assert re.fullmatch(r"[0-9a-f]{32}", missing["request_id"])
    # gunicorn's own messages are JSON lines too (CROWDSOURCE_ENV=production)
    assert any(
        r["message"].startswith("Booting worker") for r in records(err.read_text().splitlines())
    )
