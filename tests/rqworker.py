"""The worker of the tests' worker processes (tests.workers): ``flask worker``'s own code, with
two things a test may ask for through the environment.

- ``TEST_NOW``: the tests' frozen date, shared through ``tests.clock.travel_from_env()`` when
  that module exists.
- ``TEST_PAUSE_AFTER_COMMIT=N`` and ``TEST_PAUSE_MARKER=path``: the work horse stops for good
  right after the Nth committed database transaction of its job (it writes the marker file, then
  sleeps until it is killed), so a test can kill it once the job has recorded its effect and
  before it returns. RQ forks one horse per job, so commits are counted per process: a horse
  starts at zero. ``TEST_PAUSE_BEFORE_COMMIT=N`` pauses instead when the Nth transaction is
  about to commit (its changes written, its row locks held, nothing committed): killed there,
  the database rolls the transaction back.

Run as ``python -m tests.rqworker [--burst] [--name NAME]``: what ``flask worker`` runs.
The app server of the tests (tests.appserver) uses the same pause, counted per request.
"""

import argparse
import os
import re
import sys
import threading
import traceback

PAUSE_AFTER_COMMIT = "TEST_PAUSE_AFTER_COMMIT"
PAUSE_BEFORE_COMMIT = "TEST_PAUSE_BEFORE_COMMIT"
PAUSE_MARKER = "TEST_PAUSE_MARKER"
#: in the app server: only requests whose path matches this pattern count their commits
PAUSE_PATH = "TEST_PAUSE_PATH"

_counted = threading.local()


def share_the_tests_clock():
    """Travel to the tests' date (``TEST_NOW``) when tests.clock offers it."""
    if not os.environ.get("TEST_NOW"):
        return
    try:
        from tests.clock import travel_from_env
    except ImportError:
        return
    travel_from_env()


def start_counting():
    """Count commits from zero in this thread (a new request of the app server)."""
    _counted.pid, _counted.commits = os.getpid(), 0


def stop_counting():
    _counted.pid = None


def pause_here(commits):
    """Write the marker and block this thread until the process is killed."""
    marker = os.environ[PAUSE_MARKER]
    with open(f"{marker}.tmp", "w") as out:
        out.write(f"{os.getpid()} {commits}\n")
    os.replace(f"{marker}.tmp", marker)  # the test never reads half a marker
    threading.Event().wait()  # never set: the test kills this process here


def install_pause_hook(per_request=False):
    """Pause at the Nth commit (``TEST_PAUSE_AFTER_COMMIT`` / ``TEST_PAUSE_BEFORE_COMMIT``) of
    each job (a forked horse counts from zero) or, with ``per_request``, of each request
    started by start_counting()."""
    after = os.environ.get(PAUSE_AFTER_COMMIT)
    before = os.environ.get(PAUSE_BEFORE_COMMIT)
    if not (after or before):
        return
    from sqlalchemy import event, orm

    worker_pid = os.getpid()

    def counting():
        if not per_request and os.getpid() == worker_pid:
            return False  # the worker itself (relaying the outbox), not a horse running a job
        if getattr(_counted, "pid", None) != os.getpid():
            if per_request:
                return False  # not a request that counts
            start_counting()  # the first commit of a new horse
        return True

    if before:

        @event.listens_for(orm.Session, "before_commit")
        def _before_commit(session):
            if (
                not session.in_nested_transaction()
                and counting()
                and _counted.commits + 1 == int(before)
            ):
                session.flush()  # what the transaction would commit is written, uncommitted
                pause_here(_counted.commits + 1)

    @event.listens_for(orm.Session, "after_commit")
    def _after_commit(session):
        # SQLAlchemy also reports a savepoint's release as a commit: count transactions only.
        if session.in_nested_transaction() or not counting():
            return
        _counted.commits += 1
        # Name each counted commit in the process's log: which N to pause at is read there.
        caller = next(
            (f for f in reversed(traceback.extract_stack()) if "/crowdsource/" in f.filename),
            None,
        )
        where = f"{caller.filename}:{caller.lineno} {caller.name}" if caller else "?"
        print(f"commit {_counted.commits} in {os.getpid()}: {where}", file=sys.stderr, flush=True)
        if after and _counted.commits == int(after):
            pause_here(_counted.commits)


def counts_request(path):
    """Whether a request to ``path`` counts its commits (``TEST_PAUSE_PATH``, else every one)."""
    pattern = os.environ.get(PAUSE_PATH)
    return pattern is None or re.search(pattern, path) is not None


def main():
    """``flask worker`` of the app built from the environment, with the tests' clock and pauses."""
    share_the_tests_clock()
    install_pause_hook()
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", action="store_true")
    parser.add_argument("--name")
    arguments = parser.parse_args()
    from crowdsource import create_app
    from crowdsource.worker import run

    # Without RQ's scheduler: a retry runs when the test requeues it, not when its interval
    # happens to pass on a slow machine.
    run(create_app(), burst=arguments.burst, name=arguments.name, with_scheduler=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
