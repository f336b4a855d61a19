"""Background jobs: inline without Redis, on RQ with Redis (fakeredis and a real server, with
a SimpleWorker and with a ``flask worker`` process that builds its own app); always after the
commit, never for a rolled-back transaction."""

import os
import subprocess
import sys

import fakeredis
import pytest

from crowdsource.accounts import orgs
from crowdsource.db import transaction
from crowdsource.errors import DomainError


def invite(make_user, make_org):
    owner, invitee = make_user(), make_user(email="invitee@example.com")
    organization = make_org(owner)
    with transaction():
        orgs.invite_member(owner, organization, invitee.email)
    return organization, owner, invitee


def test_inline_job_runs_after_the_commit(db, make_user, make_org, outbox):
    invite(make_user, make_org)
    assert [message.to for message in outbox] == [["invitee@example.com"]]


def test_no_job_for_a_rolled_back_transaction(db, make_user, make_org, outbox):
    owner, invitee = make_user(), make_user()
    organization = make_org(owner)
    with pytest.raises(DomainError), transaction():
        orgs.invite_member(owner, organization, invitee.email)
        raise DomainError("changed my mind")
    with transaction():
        pass
    assert outbox == []


def run_worker_until_done(queues):
    queues.run()


def test_job_waits_in_fakeredis_until_a_worker_runs_it(db, rq_app, make_user, make_org, outbox):
    queue = rq_app("redis://fake", fakeredis.FakeStrictRedis())
    invite(make_user, make_org)
    assert outbox == [] and queue.count == 1
    run_worker_until_done(queue)
    assert [message.to for message in outbox] == [["invitee@example.com"]]


def test_job_runs_on_a_real_redis_with_a_worker(db, rq_app, redis_url, make_user, make_org, outbox):
    queue = rq_app(redis_url)
    invite(make_user, make_org)
    assert outbox == [] and queue.count == 1
    run_worker_until_done(queue)
    assert [message.to for message in outbox] == [["invitee@example.com"]]
    assert queue.failed_count == 0


@pytest.mark.committing  # the worker process reads what the test stored
def test_rq_worker_process_builds_its_own_app(
    app, db, rq_app, redis_url, make_user, make_org, tmp_path
):
    queue = rq_app(redis_url)
    invite(make_user, make_org)
    mail_dir = tmp_path / "mail"
    env = dict(
        os.environ,
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=redis_url,
        RQ_QUEUE=queue.name,
        FLASK_APP="crowdsource",
        MAIL_BACKEND="file",
        MAIL_FILE_PATH=str(mail_dir),
        PUBLIC_URL="https://crowdsource.example.cn",
    )
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "flask"), "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    messages = "".join(path.read_text() for path in mail_dir.iterdir())
    assert "To: invitee@example.com" in messages
    assert "https://crowdsource.example.cn/invitations" in messages
    assert queue.failed_count == 0


def test_rq_cron_enqueues_the_sweep_and_a_worker_ends_bidding(
    db, rq_app, redis_url, make_user, make_org, make_task, make_bid, monkeypatch
):
    import datetime as dt

    from rq.cron import CronScheduler

    from crowdsource.db import utcnow

    queue = rq_app(redis_url)
    monkeypatch.setenv("RQ_QUEUE", queue.name)
    owner = make_user()
    task = make_task(owner, make_org(owner))
    make_bid(make_user(), task)
    with transaction():
        task.bid_deadline = utcnow() - dt.timedelta(minutes=1)
    scheduler = CronScheduler(connection=queue.connection)
    scheduler.load_config_from_file("crowdsource.cron")
    assert [job.name for job in scheduler.enqueue_jobs()] == ["sweep"]
    assert ("crowdsource.sweep:scheduled_sweep",) in [job.args for job in queue.jobs]
    assert str(task.status) == "open"
    run_worker_until_done(queue)
    db.session.refresh(task)
    assert str(task.status) == "closed"
