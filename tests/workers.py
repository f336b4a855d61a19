"""``flask worker`` processes for a test, and faults caused for real: the work horse that runs a
job is killed with SIGKILL (its own pid: RQ's horse leaves the worker's process group), at a
moment the test chose: while an outside service holds the job's request, or after the job's
Nth committed database transaction (the horse pauses there, see tests.rqworker).

The app server is killed the same way (``AppServer``, tests.appserver): while it waits on an
outside service during a request, or after the request's Nth commit.

The fixtures ``redis_queue``, ``workers`` and ``app_server`` (registered by ``pytest_plugins``
in tests/conftest.py) need a PostgreSQL ``app`` (mark the test ``postgresql``) and a real Redis:
a worker or server process builds its own app from the environment, so it must reach the same
database and queue as the test. Every wait is on a condition, bounded by PATIENCE.
"""

import datetime as dt
import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
import redis

from crowdsource.db import db
from tests.forkserver import ForkServer
from tests.helpers import PATIENCE, unavailable, wait_until
from tests.queues import Queues
from tests.rqworker import PAUSE_AFTER_COMMIT, PAUSE_BEFORE_COMMIT, PAUSE_MARKER, PAUSE_PATH

ROOT = Path(__file__).resolve().parent.parent


def children_of(pid):
    """The pids of the live processes whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _stat(int(entry))
        if stat is not None and stat[1] == pid and stat[0] != "Z":
            found.append(int(entry))
    return found


def _stat(pid):
    """(state, parent pid) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            text = file.read()
    except OSError:
        return None
    state, parent = text.rsplit(")", 1)[1].split()[:2]
    return state, int(parent)


def is_gone(pid):
    stat = _stat(pid)
    return stat is None or stat[0] in ("Z", "X")


def kill_and_wait(pid, timeout=PATIENCE):
    """SIGKILL one process (by its pid) and wait until it is dead."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    wait_until(lambda: is_gone(pid), timeout, f"the death of process {pid}")


def pause_env(marker, after_commit=None, before_commit=None):
    """The environment that asks a process of tests.rqworker or tests.appserver to pause."""
    env = {}
    for variable, count in (
        (PAUSE_AFTER_COMMIT, after_commit),
        (PAUSE_BEFORE_COMMIT, before_commit),
    ):
        if count is not None:
            env.update({variable: str(count), PAUSE_MARKER: str(marker)})
    return env


def wait_for_marker(process, marker, name, timeout=PATIENCE):
    """Wait until a paused process wrote its marker; returns the pid that paused."""

    def paused():
        if marker.exists():
            return True
        if process.poll() is not None:
            raise AssertionError(
                f"{name} exited ({process.returncode}) before it paused:\n"
                + process.log.read_text()
            )
        return False

    wait_until(paused, timeout, f"the pause of {name}")
    return int(marker.read_text().split()[0])


class Workers:
    """`flask worker` subprocesses for one test: this test's database, Redis queue, fake Stripe."""

    def __init__(self, app, queue, log_dir, forks, extra_env=None):
        self.app, self.queue, self.log_dir, self.forks = app, queue, Path(log_dir), forks
        self.extra_env = dict(extra_env or {})
        self.names, self.processes = [], []

    @property
    def env(self):
        """The workers' environment, from the app's settings as they are now (a fixture that
        switches the app to a fake service may have run after this object was made)."""
        config = self.app.config
        env = dict(
            os.environ,
            DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"],
            REDIS_URL=config["REDIS_URL"],
            RQ_QUEUE=self.queue.name,
            MAIL_BACKEND=config.get("MAIL_BACKEND") or "locmem",
            PUBLIC_URL=config.get("PUBLIC_URL") or "http://crowdsource.test",
        )
        for name in ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"):
            if config.get(name):
                env[name] = config[name]
        # Longer than any hold of the fake Stripe: a held call ends by the test, not a timeout.
        env["STRIPE_TIMEOUT_SECONDS"] = "120"
        for name in (PAUSE_AFTER_COMMIT, PAUSE_BEFORE_COMMIT, PAUSE_MARKER):
            env.pop(name, None)
        # The worker starts at the test's current moment (tests.clock), which the suite's date
        # (TEST_NOW) or the test's own clock may have moved from the real time.
        env["TEST_NOW"] = dt.datetime.now(dt.UTC).isoformat()
        env.update(self.extra_env)
        return env

    def start(self, pause_after_commit=None, pause_before_commit=None, burst=True):
        """Start a worker on the queues (a burst worker unless ``burst=False``); with
        ``pause_after_commit=N`` each of its horses pauses after the Nth committed transaction
        of its job (see wait_for_pause), with ``pause_before_commit=N`` when the Nth is about
        to commit (nothing of it committed)."""
        name = f"test-{uuid.uuid4().hex[:10]}"
        self.names.append(name)
        env = self.env
        marker = self.log_dir / f"{name}.paused"
        env.update(pause_env(marker, pause_after_commit, pause_before_commit))
        log_path = self.log_dir / f"{name}.log"
        argv = ["--name", name, *(["--burst"] if burst else [])]
        process = self.forks.start("tests.rqworker:main", argv=argv, env=env, log=log_path)
        process.name, process.log, process.marker = name, log_path, marker
        self.processes.append(process)
        return process

    def _alive(self, process, what):
        if process.poll() is not None:
            raise AssertionError(
                f"worker {process.name} exited ({process.returncode}) before {what}:\n"
                + process.log.read_text()
            )

    def horse_pid(self, process, timeout=PATIENCE):
        """The pid of the worker's work horse (waits until it has forked one)."""

        def horse():
            self._alive(process, "forking a horse")
            children = children_of(process.pid)
            return children[0] if children else None

        return wait_until(horse, timeout, f"a horse of worker {process.name}")

    def wait_for_pause(self, process, timeout=PATIENCE):
        """Wait until the worker's horse paused at its commit; returns the horse's pid."""
        return wait_for_marker(process, process.marker, f"worker {process.name}'s horse", timeout)

    def kill_horse(self, process):
        """SIGKILL the horse's own pid and wait until it is gone; the worker lives on and
        handles the job as RQ does for a horse that died."""
        pid = self.horse_pid(process)
        kill_and_wait(pid)
        return pid

    def finish(self, *processes, timeout=120):
        """Wait for burst workers to run out of jobs and exit 0; the test's session then
        reads what they stored."""
        for process in processes:
            try:
                code = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                raise AssertionError(
                    f"worker {process.name} still runs after {timeout} s:\n"
                    + process.log.read_text()
                ) from None
            assert code == 0, process.log.read_text()
        db.session.expire_all()

    def stop(self):
        """Kill what is still running of this test's workers and their horses (by pid)."""
        for process in self.processes:
            if process.poll() is None:
                for child in children_of(process.pid):
                    kill_and_wait(child)
                process.kill()
                process.wait(timeout=PATIENCE)

    def forget(self):
        """Remove this test's worker keys from Redis."""
        connection = self.queue.connection
        for name in self.names:
            connection.srem("rq:workers", f"rq:worker:{name}")
            connection.delete(f"rq:worker:{name}")
            for key in connection.scan_iter(f"rq:worker:{name}*"):
                connection.delete(key)


class AppServer:
    """The app served by a process of its own (tests.appserver), killed and started again as
    a test says: this test's database, Redis queue and fake Stripe. ``url`` once started."""

    def __init__(self, app, queue, log_dir, forks, extra_env=None):
        self.workers = Workers(app, queue, log_dir, forks, extra_env)
        self.log_dir, self.process, self.url, self.starts = Path(log_dir), None, None, 0

    def start(self, pause_after_commit=None, pause_path=None, timeout=PATIENCE):
        """Serve the app; with ``pause_after_commit=N`` a request to a path matching the
        pattern ``pause_path`` stops for good after its Nth commit (see wait_for_pause)."""
        self.starts += 1
        name = f"server-{self.starts}"
        env = dict(self.workers.env, SWEEP_ON_ACCESS_SECONDS="0")
        # One key across restarts: the user's session survives the server's death.
        env.setdefault("SECRET_KEY", "test-secret-of-the-app-server")
        self.marker = self.log_dir / f"{name}.paused"
        env.update(pause_env(self.marker, pause_after_commit))
        if pause_path is not None:
            env[PAUSE_PATH] = pause_path
        port_file = self.log_dir / f"{name}.port"
        log_path = self.log_dir / f"{name}.log"
        self.process = self.workers.forks.start(
            "tests.appserver:main", args=[str(port_file)], env=env, log=log_path
        )
        self.process.log = log_path

        def listening():
            if self.process.poll() is not None:
                raise AssertionError(f"the app server exited:\n{log_path.read_text()}")
            return port_file.exists()

        wait_until(listening, timeout, "the app server listening")
        self.url = f"http://127.0.0.1:{port_file.read_text().strip()}"
        return self.process

    def wait_for_pause(self, timeout=PATIENCE):
        return wait_for_marker(self.process, self.marker, "the app server", timeout)

    def kill(self):
        """SIGKILL the server (its own pid) and wait until it is gone."""
        kill_and_wait(self.process.pid)
        self.process.wait(timeout=PATIENCE)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.kill()


TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_queue(app, monkeypatch):
    """The app's jobs go to queues of their own on the real Redis (``TEST_REDIS_URL``), seen as
    one (tests.queues.Queues); everything they left there is removed at the end."""
    connection = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError as error:
        unavailable(f"Redis at {TEST_REDIS_URL} does not answer: {error}")
    monkeypatch.setitem(app.config, "REDIS_URL", TEST_REDIS_URL)
    queues = Queues(connection).install(app, monkeypatch)
    yield queues
    queues.delete_everything()


@pytest.fixture(scope="session")
def fork_server(tmp_path_factory):
    """This test process's fork server (tests.forkserver): worker and app-server processes
    start from it with their imports made."""
    server = ForkServer(tmp_path_factory.mktemp("forks"), ROOT)
    yield server
    server.stop()


@pytest.fixture
def workers(app, redis_queue, tmp_path, fork_server):
    """``Workers`` on this test's database and Redis queue, with the app's settings (a fake
    Stripe's included) as they are when a worker starts."""
    workers = Workers(app, redis_queue, tmp_path, fork_server)
    yield workers
    workers.stop()
    workers.forget()


@pytest.fixture
def app_server(app, redis_queue, tmp_path, fork_server):
    """``AppServer`` on this test's database and Redis queue (killed at the end if alive)."""
    server = AppServer(app, redis_queue, tmp_path / "server", fork_server)
    server.log_dir.mkdir()
    yield server
    server.stop()
