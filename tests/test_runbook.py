"""The README's production runbook works as written.

The shell blocks of the README marked ``<!-- runbook -->`` run, in order, in one bash session,
against a PostgreSQL database and roles of their own (made by the runbook's psql commands,
dropped at the end), Redis with a queue prefix of their own and temporary folders. Only the
values change: the block marked ``<!-- runbook: values -->`` is replaced by this test's values,
given as environment variables; no command is rewritten. The admin's password is typed on the
script's standard input, as an operator types it.

The block ``<!-- runbook: services -->`` starts long-running services: each line runs as its
own process, with the environment file loaded as the README says, until it has shown it works
(gunicorn serves a login of the admin over HTTP; `rq cron` enqueues the sweep and `flask worker`
runs it), then it is stopped with SIGTERM, as systemd stops it. gunicorn's address comes from
``GUNICORN_CMD_ARGS``. The systemd units run the same commands (checked by parsing them) and
pass `systemd-analyze verify` where it can run.
"""

import configparser
import html
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

import pyotp
import pytest
import redis
import sqlalchemy as sa

from tests.helpers import PATIENCE, unavailable, wait_until
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
UNITS = ROOT / "deploy" / "systemd"
BIN = Path(sys.executable).parent
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN_PASSWORD = "a long admin passphrase"
#: inherited variables the app would read: only the environment file may set them here
APP_VARIABLES = re.compile(
    r"^(CROWDSOURCE_\w+|FLASK_\w+|SECRET_KEY|DATABASE_URL|PUBLIC_URL|UPLOAD_FOLDER|"
    r"REDIS_\w+|RQ_\w+|MAIL_\w+|STRIPE_\w+|PLATFORM_\w+|SWEEP_\w+|PAYMENT_PROVIDER|"
    r"GUNICORN_\w+|WEB_CONCURRENCY|PROXY_\w+|LOG_\w+|PG\w+)$"
)

BLOCK = re.compile(r"<!-- runbook(?:: (?P<kind>[\w-]+))? -->\n```sh\n(?P<code>.*?)\n```", re.S)


def runbook_blocks():
    """``(kind, code)`` of every marked block, in the README's order (kind "" runs)."""
    return [(m["kind"] or "", m["code"]) for m in BLOCK.finditer(README.read_text())]


def blocks_of(kind):
    return [code for found, code in runbook_blocks() if found == kind]


def readme_values():
    """The names and default values the values block assigns."""
    (code,) = blocks_of("values")
    values = {}
    for token in shlex.split(code, comments=True):
        name, equals, value = token.partition("=")
        assert equals and re.fullmatch(r"[A-Z_][A-Z0-9_]*", name), token
        values[name] = value
    return values


def service_commands():
    (code,) = blocks_of("services")
    return [line for line in code.splitlines() if line.strip()]


def clean_environment():
    env = {name: value for name, value in os.environ.items() if not APP_VARIABLES.match(name)}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # python3 of the README's lines
    return env


def load_env_file(path):
    """The variables ``path`` sets, read as the README reads it (``set -a; . FILE``)."""
    script = 'set -a && . "$1" && set +a && "$2" -c "import json, os; print(json.dumps(dict(os.environ)))"'
    before = {"PATH": os.environ["PATH"]}
    result = subprocess.run(
        ["bash", "-c", script, "load", str(path), sys.executable],
        env=before,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(result.stdout)
    return {k: v for k, v in loaded.items() if k not in before and k not in ("PWD", "SHLVL", "_")}


def superuser_url():
    return sa.engine.make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_PG_URL))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Run the runbook's blocks; yields its values, output and settings; drops the database,
    the roles and the Redis keys afterwards."""
    if shutil.which("psql") is None:
        unavailable("psql is not installed (apt-get install postgresql-client)")
    admin = superuser_url()
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        unavailable(f"PostgreSQL does not answer: {error}")
    keys = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2)
    try:
        keys.ping()
    except redis.exceptions.ConnectionError as error:
        unavailable(f"Redis at {TEST_REDIS_URL} does not answer: {error}")

    run = uuid.uuid4().hex[:10]
    tmp = tmp_path_factory.mktemp("runbook")
    values = {
        "REPOSITORY": str(ROOT),
        "CHECKOUT": str(ROOT),
        "VENV": str(BIN.parent),
        "ENV_FILE": str(tmp / "etc" / "env"),
        "OWNER_URL_FILE": str(tmp / "etc" / "owner-url"),
        "DB_HOST": admin.host or "127.0.0.1",
        "DB_PORT": str(admin.port or 5432),
        "DB_SUPERUSER": admin.username or "postgres",
        "DB_NAME": f"cs_runbook_{run}",
        "DB_OWNER": f"cs_runbook_owner_{run}",
        "DB_APP": f"cs_runbook_app_{run}",
        "REDIS": TEST_REDIS_URL,
        "QUEUE": f"test-runbook-{run}",
        "SITE": "https://crowdsource.test",
        "UPLOADS": str(tmp / "shared" / "uploads"),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "2525",
        "SMTP_USER": "noreply@crowdsource.test",
        "SMTP_PASSWORD": "an smtp password",
        "MAIL_FROM": "Crowdsource <noreply@crowdsource.test>",
        "BANK_NAME": "中国工商银行青岛市南支行",
        "BANK_ACCOUNT_NAME": "山东众包创新服务平台资金托管专户",
        "BANK_ACCOUNT_NUMBER": "3803 0201 0900 0123 456",
        "ADMIN_EMAIL": "admin@example.com",
    }
    assert set(values) == set(readme_values()), "the values block and this test disagree"
    env = clean_environment() | values
    if admin.password:
        env["PGPASSWORD"] = admin.password
    script = "set -euo pipefail\n" + "\n".join(blocks_of(""))
    try:
        work = tmp / "work"  # any folder but the checkout, as the README says
        work.mkdir()
        result = subprocess.run(
            ["bash", "-c", script],
            input=f"{ADMIN_PASSWORD}\n",
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
        settings = load_env_file(values["ENV_FILE"])
        yield {"values": values, "env": env, "output": result.stdout, "settings": settings}
    finally:
        with engine.connect() as connection:
            connection.execute(
                sa.text(f'DROP DATABASE IF EXISTS "{values["DB_NAME"]}" WITH (FORCE)')
            )
            for role in (values["DB_APP"], values["DB_OWNER"]):
                connection.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        engine.dispose()
        forget_redis_keys(keys, values["QUEUE"])


def forget_redis_keys(connection, prefix):
    """Remove the keys of this run's queues and jobs, and of the workers and cron schedulers
    that served them (RQ's registries shared by every run stay)."""
    for key in connection.scan_iter(f"*{prefix}*"):
        connection.delete(key)
    for pattern, field in (("rq:worker:*", "queues"), ("rq:cron_scheduler:*", "cron_jobs")):
        for key in connection.scan_iter(pattern):
            if connection.type(key) == b"hash" and prefix.encode() in (
                connection.hget(key, field) or b""
            ):
                connection.srem("rq:workers", key)
                connection.delete(key)


def production_app(settings, monkeypatch):
    from crowdsource import create_app

    for name in list(os.environ):
        if APP_VARIABLES.match(name):
            monkeypatch.delenv(name)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return create_app()


def csrf_token(page):
    return html.unescape(re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1])


def second_factor(get, post, site):
    """After the admin's password: the first sign-in on the site sets up two-factor sign-in
    (every page sends the admin there; an authenticator app is played by pyotp) and keeps the
    recovery codes in ``site``; a later one (the module's tests share the site) gives one of
    them. ``get(path)`` and ``post(path, form)`` return ``(status, page)`` in the session."""
    status, page = get("/login/two-factor")
    if status == 200:  # the login waits for its second factor
        form = {"code": site["recovery_codes"].pop(), "csrf_token": csrf_token(page)}
        status, page = post("/login/two-factor", form)
        assert status == 302, page
        return
    status, page = get("/admin/jobs")
    assert status == 302 and "/account/two-factor" in page, page  # the admin moves money
    status, page = get("/account/two-factor")
    assert status == 200, page
    status, page = post("/account/two-factor/start", {"csrf_token": csrf_token(page)})
    assert status == 302, page
    status, page = get("/account/two-factor")
    found = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page)
    assert status == 200 and found, page
    secret = found[1].replace(" ", "")
    form = {"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_token(page)}
    status, page = post("/account/two-factor/confirm", form)
    assert status == 200 and 'data-testid="recovery-codes"' in page
    site["recovery_codes"] = re.findall(r"<li>([A-Z2-7]{5}-[A-Z2-7]{5})</li>", page)


def test_the_runbook_writes_every_setting_once_readable_by_root_only(site):
    settings, values = site["settings"], site["values"]
    assert settings["CROWDSOURCE_ENV"] == "production"
    assert len(settings["SECRET_KEY"]) >= 40
    assert settings["DATABASE_URL"].startswith(f"postgresql+psycopg://{values['DB_APP']}:")
    assert settings["UPLOAD_FOLDER"] == values["UPLOADS"]
    assert settings["REDIS_URL"] == values["REDIS"] and settings["RQ_QUEUE"] == values["QUEUE"]
    assert settings["MAIL_DEFAULT_SENDER"] == values["MAIL_FROM"]
    assert settings["PLATFORM_BANK_ACCOUNT_NUMBER"] == values["BANK_ACCOUNT_NUMBER"]
    for path in (values["ENV_FILE"], values["OWNER_URL_FILE"]):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert ADMIN_PASSWORD not in site["output"]


def test_the_admin_logs_in_and_the_centers_exist(site, monkeypatch):
    from crowdsource.accounts.centers import find_center
    from crowdsource.db import db

    app = production_app(site["settings"], monkeypatch)
    try:
        client = app.test_client()
        # Over HTTPS, as the proxy in front of it serves the site (a form comes from its page).
        https = {
            "base_url": "https://crowdsource.test",
            "headers": {"Accept-Language": "en", "Referer": "https://crowdsource.test/login"},
        }
        token = csrf_token(client.get("/login", **https).get_data(as_text=True))
        response = client.post(
            "/login",
            data={
                "email": "admin@example.com",
                "password": ADMIN_PASSWORD,
                "csrf_token": token,
            },
            **https,
        )
        assert response.status_code == 302, response.get_data(as_text=True)

        def get(path):
            response = client.get(path, **https)
            return response.status_code, response.get_data(as_text=True)

        def post(path, form):
            response = client.post(path, data=form, **https)
            return response.status_code, response.get_data(as_text=True)

        second_factor(get, post, site)
        assert client.get("/admin/jobs", **https).status_code == 200  # an admin's page
        with app.app_context():
            assert find_center("qingdao").parent.code == "shandong"
            assert find_center("shandong").parent is None
    finally:
        with app.app_context():
            db.engine.dispose()
    assert "qingdao  青岛市 / Qingdao" in site["output"]
    assert "Statistics summarized" in site["output"] or "Nothing to summarize" in site["output"]


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE probe (id integer)",
        "TRUNCATE journal_entries",
        "TRUNCATE users CASCADE",
        "ALTER TABLE postings DISABLE TRIGGER ALL",
        "DROP TABLE users",
        "DELETE FROM alembic_version",
    ],
)
def test_the_app_role_may_not_change_the_schema_or_truncate(site, statement):
    engine = sa.create_engine(site["settings"]["DATABASE_URL"])
    try:
        with engine.connect() as connection:
            assert connection.scalar(sa.text("SELECT count(*) FROM users")) == 1  # rows: yes
            assert not connection.scalar(
                sa.text(
                    "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles "
                    "WHERE rolname = current_user"
                )
            )
            with pytest.raises(sa.exc.ProgrammingError, match=r"permission denied|must be owner"):
                connection.execute(sa.text(statement))
    finally:
        engine.dispose()


class Service:
    """One line of the services block, run as the README says: the environment file loaded,
    then the command, as its own process (its output in ``log``)."""

    def __init__(self, command, env, folder, index):
        self.command = command
        self.log = folder / f"service-{index}.log"
        script = f'set -a && . "$ENV_FILE" && set +a && exec {command}'
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                ["bash", "-c", script],
                env=env,
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def alive(self):
        if self.process.poll() is not None:
            raise AssertionError(f"{self.command} exited:\n{self.log.read_text()}")
        return True

    def stop(self):
        """SIGTERM, as systemd stops a service; True when it exited in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=PATIENCE)
            return True
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=PATIENCE)
            return False


def http_request(port, method, path, body=None, cookie=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Accept-Language": "en"}
    if cookie:
        headers["Cookie"] = cookie
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urllib.parse.urlencode(body)
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return response, text


def session_cookie(response):
    """The session cookie a response sets (sent back by hand: production marks it Secure, and
    this test speaks plain HTTP to gunicorn as the HTTPS proxy in front of it would)."""
    for header, value in response.getheaders():
        if header.lower() == "set-cookie" and value.startswith("session="):
            return value.split(";", 1)[0]
    return None


def test_the_services_serve_the_admin_and_run_the_scheduled_sweep(site, tmp_path):
    if not (ROOT / "deploy" / "gunicorn.conf.py").exists():
        pytest.skip("deploy/gunicorn.conf.py (gunicorn's production settings) is not here yet")
    port = free_port()
    env = site["env"] | {"GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port} --workers 2"}
    commands = service_commands()
    assert [shlex.split(c)[0].rsplit("/", 1)[-1] for c in commands] == ["gunicorn", "flask", "rq"]
    services = [Service(command, env, tmp_path, i) for i, command in enumerate(commands)]
    try:

        def login_page():
            services[0].alive()
            try:
                return http_request(port, "GET", "/login")
            except OSError:
                return None

        response, page = wait_until(login_page, PATIENCE, "gunicorn serving /login")
        assert response.status == 200
        cookie = session_cookie(response)
        form = {
            "email": "admin@example.com",
            "password": ADMIN_PASSWORD,
            "csrf_token": csrf_token(page),
        }
        response, _ = http_request(port, "POST", "/login", form, cookie)
        assert response.status == 302, "the admin could not log in"
        cookies = [session_cookie(response)]

        def call(method, path, form=None):
            response, page = http_request(port, method, path, form, cookies[-1])
            cookies.append(session_cookie(response) or cookies[-1])
            return response.status, page

        second_factor(lambda path: call("GET", path), lambda p, f: call("POST", p, f), site)
        assert call("GET", "/admin/jobs")[0] == 200

        # rq cron enqueues the scheduled sweep at its start; the worker runs it and records it.
        queues = redis.Redis.from_url(TEST_REDIS_URL)
        key = f"{site['values']['QUEUE']}:sweep:scheduled"

        def swept():
            for service in services:
                service.alive()
            return queues.exists(key)

        wait_until(swept, PATIENCE, "a scheduled sweep run by the worker")
    finally:
        stopped = {service.command: service.stop() for service in services}
    assert all(stopped.values()), f"not stopped by SIGTERM: {stopped}"


def unit(name):
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read(UNITS / name)
    return parser


def as_systemd_runs_it(command):
    """A services line with the README's default paths, as a unit's ExecStart= words."""
    defaults = readme_values()
    for name in ("VENV", "CHECKOUT"):
        command = command.replace(f'"${name}', f'"{defaults[name]}')
    return shlex.split(command.replace('"$REDIS_URL"', "${REDIS_URL}"))


def test_the_systemd_units_run_the_runbook_commands():
    assert sorted(path.name for path in UNITS.glob("*.service")) == [
        "crowdsource-cron.service",
        "crowdsource-web.service",
        "crowdsource-worker@.service",
    ]
    web, worker, cron = service_commands()
    expected = {
        "crowdsource-web.service": as_systemd_runs_it(web),
        "crowdsource-worker@.service": as_systemd_runs_it(worker),
        "crowdsource-cron.service": as_systemd_runs_it(cron),
    }
    for name, command in expected.items():
        service = unit(name)["Service"]
        assert service["EnvironmentFile"] == "/etc/crowdsource/env", name
        assert service["User"] == "crowdsource", name
        started = shlex.split(service["ExecStart"])
        assert started[: len(command)] == command, name
        assert unit(name)["Install"]["WantedBy"] == "multi-user.target"
    assert unit("crowdsource-worker@.service")["Service"]["Restart"] == "always"
    assert unit("crowdsource-cron.service")["Service"]["Restart"] == "always"
    assert "%i" in unit("crowdsource-worker@.service")["Service"]["ExecStart"]  # unique names


def test_systemd_analyze_verifies_the_units(tmp_path):
    """`systemd-analyze verify` checks that each ExecStart= program exists: it runs in a mount
    namespace of its own where /opt holds the venv's programs at the units' paths."""
    if shutil.which("systemd-analyze") is None or shutil.which("unshare") is None:
        pytest.skip("systemd-analyze or unshare is not installed")
    venv_bin = tmp_path / "opt" / "crowdsource" / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    for program in ("gunicorn", "flask", "rq"):
        (venv_bin / program).symlink_to(BIN / program)
    namespace = ["unshare", "--mount", "--propagation", "private", "sh", "-c"]
    probe = subprocess.run([*namespace, "mount --bind /tmp /mnt"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"no mount namespace here: {probe.stderr.strip()}")
    units = " ".join(shlex.quote(str(path)) for path in sorted(UNITS.glob("*.service")))
    opt = shlex.quote(str(tmp_path / "opt"))
    script = f"mount --bind {opt} /opt && systemd-analyze verify {units}"
    result = subprocess.run([*namespace, script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # warnings too: unknown keys, bad values
