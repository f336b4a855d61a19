"""A warm start for the tests' worker and app-server processes: a fork server.

Starting ``python -m tests.rqworker`` costs a second and a half of imports (Flask, SQLAlchemy,
RQ, Stripe, the app's modules) before the process does anything, and the fault tests start
dozens of them. The fork server is one process per test process that has made those imports
once and forks a new process for each start asked of it. The child is a real process like the
one ``subprocess.Popen`` would start — its own session (``setsid``), environment, working
directory and log, the worker's ``main()`` — so a test kills it, and the work horses it forks
in turn, for real; only the imports are shared. Nothing that holds a connection, a thread or
an app exists in the fork server before it forks: each child builds its app from its own
environment, as ``flask worker`` does.

Protocol (one JSON object per connection to the server's Unix socket): ``{"target":
"module:function", "args": [...], "argv": [...], "env": {...}, "cwd": ..., "log": path,
"status": path}``; the answer is ``{"pid": N}``. When the child exits the server writes its
return code (as ``Popen.returncode``: negative for a signal) to ``status``.

Run as ``python -m tests.forkserver SOCKET``; it exits when its parent (the test process) does.
``ForkServer`` (below) is the tests' side: ``start(...)`` returns a ``Forked`` process with
``Popen``'s ``pid``, ``poll()``, ``wait()``, ``kill()`` and ``returncode``.
"""

import contextlib
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import traceback
from pathlib import Path

from tests.helpers import PATIENCE, wait_until

#: what every child needs, imported once in the fork server (imports only: no app, no
#: connection, no thread)
PRELOAD = (
    "crowdsource",
    "crowdsource.worker",
    "crowdsource.cli",
    "tests.rqworker",
    "tests.appserver",
    "tests.clock",
    "rq",
    "stripe",
    "psycopg",
    "sqlalchemy.dialects.postgresql.psycopg",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "werkzeug.serving",
)


def _preload():
    import crowdsource

    for name in PRELOAD + crowdsource.VIEW_MODULES:
        importlib.import_module(name)


def _run_child(request):
    """In the forked child: become the process the request describes; never returns."""
    code = 1
    try:
        os.setsid()
        for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(number, signal.SIG_DFL)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [request["target"], *request["argv"]]
        module_name, function = request["target"].split(":")
        code = getattr(importlib.import_module(module_name), function)(*request["args"])
        code = 0 if code is None else int(code)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _write_status(path, code):
    with open(f"{path}.tmp", "w") as out:
        out.write(str(code))
    os.replace(f"{path}.tmp", path)  # the tests never read half a status


def serve(socket_path):
    _preload()
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(f"{socket_path}.tmp")
    os.replace(f"{socket_path}.tmp", socket_path)  # bound before the tests see it
    listener.listen(16)
    statuses = {}
    while os.getppid() == parent:
        readable, _, _ = select.select([listener], [], [], 0.05)
        if readable:
            connection, _ = listener.accept()
            with connection, connection.makefile("rwb") as stream:
                request = json.loads(stream.readline())
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    stream.close()
                    connection.close()
                    _run_child(request)
                statuses[pid] = request["status"]
                stream.write(json.dumps({"pid": pid}).encode() + b"\n")
                stream.flush()
        while statuses:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in statuses:
                _write_status(statuses.pop(pid), os.waitstatus_to_exitcode(status))


class Forked:
    """A process started by the fork server, as ``subprocess.Popen`` shows one."""

    def __init__(self, pid, status_path):
        self.pid, self.status_path, self.returncode = pid, Path(status_path), None

    def poll(self):
        if self.returncode is None and self.status_path.exists():
            self.returncode = int(self.status_path.read_text())
        return self.returncode

    def wait(self, timeout=PATIENCE):
        try:
            wait_until(lambda: self.poll() is not None, timeout, f"the exit of {self.pid}", 0.01)
        except AssertionError:
            raise subprocess.TimeoutExpired(f"process {self.pid}", timeout) from None
        return self.returncode

    def kill(self):
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


class ForkServer:
    """The fork server of this test process, started on the first ``start``."""

    def __init__(self, directory, root):
        self.directory, self.root = Path(directory), Path(root)
        self.process, self.socket_path, self.starts = None, self.directory / "fork.sock", 0

    def _ensure_running(self, patience):
        if self.process is not None and self.process.poll() is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        with open(self.directory / "forkserver.log", "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.forkserver", str(self.socket_path)],
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def listening():
            if self.process.poll() is not None:
                raise AssertionError(
                    "the tests' fork server exited:\n"
                    + (self.directory / "forkserver.log").read_text()
                )
            return self.socket_path.exists()

        wait_until(listening, patience, "the tests' fork server listening", 0.01)

    def start(self, target, args=(), argv=(), env=None, cwd=None, log=None, patience=60):
        """Fork a process that runs ``target`` ("module:function") with ``args`` (and
        ``sys.argv`` of ``argv``) in ``env`` and ``cwd``, its output to ``log``."""
        self._ensure_running(patience)
        self.starts += 1
        status = self.directory / f"exit-{os.getpid()}-{self.starts}"
        request = {
            "target": target,
            "args": list(args),
            "argv": list(argv),
            "env": dict(env if env is not None else os.environ),
            "cwd": str(cwd or self.root),
            "log": str(log or os.devnull),
            "status": str(status),
        }
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(patience)
            connection.connect(str(self.socket_path))
            with connection.makefile("rwb") as stream:
                stream.write(json.dumps(request).encode() + b"\n")
                stream.flush()
                answer = json.loads(stream.readline())
        return Forked(answer["pid"], status)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=60)


if __name__ == "__main__":
    serve(sys.argv[1])
