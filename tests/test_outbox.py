"""The outbox: a job is a row of its action's transaction, and reaches the queue whatever Redis
does — refusing connections, hanging, or the web process dying right after the commit.

Redis here is real: the shared one, a private ``redis-server`` the test starts and stops on a
port of its own (Redis "returns" when it starts there), and a socket that accepts connections
and never answers (a hung Redis).
"""

import contextlib
import datetime as dt
import shutil
import subprocess
import threading
import time

import pytest
import redis
import sqlalchemy as sa

from crowdsource import outbox as job_outbox
from crowdsource.accounts.models import Invitation
from crowdsource.db import transaction
from crowdsource.errors import DomainError
from crowdsource.outbox import OutboxJob
from tests.helpers import PATIENCE, unavailable, wait_until
from tests.queues import Queues
from tests.servers import SilentServer, free_port

INVITE_JOB = "crowdsource.accounts.jobs:send_invitation_email"


class PrivateRedis:
    """A redis-server of this test alone, on a port that refuses connections until started."""

    def __init__(self, tmp_path):
        if shutil.which("redis-server") is None:
            unavailable("redis-server is not installed")
        self.port, self.dir, self.process = free_port(), tmp_path, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)

        def answers():
            try:
                return client.ping()
            except redis.exceptions.ConnectionError:
                return False

        wait_until(answers, PATIENCE, "the private redis-server answering")
        return client

    def stop(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=PATIENCE)
            self.process = None


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def hung_redis():
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def redis_at(app, monkeypatch):
    """Point the app at the Redis of ``url`` with short timeouts; returns its Queues."""

    def point(url, connection=None):
        monkeypatch.setitem(app.config, "REDIS_URL", url)
        monkeypatch.setitem(app.config, "REDIS_TIMEOUT_SECONDS", 0.5)
        monkeypatch.setitem(app.config, "REDIS_RETRY_SECONDS", 60)
        for name in ("redis", "rq_queues", "redis_down_until"):
            monkeypatch.delitem(app.extensions, name, raising=False)
        queues = Queues(connection or redis.Redis.from_url(url, socket_connect_timeout=1))
        monkeypatch.setitem(app.config, "RQ_QUEUE", queues.name)
        return queues

    return point


def rows():
    """The outbox's rows as stored now, in the order they were written."""
    from crowdsource.db import db

    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxJob).order_by(OutboxJob.id)).all()


def invite_through_the_page(client, login, owner, organization, email):
    login(owner)
    started = time.monotonic()
    response = client.post(
        f"/orgs/{organization.id}/members", data={"email": email, "role": "member"}
    )
    return response, time.monotonic() - started


# --- the row and its transaction ------------------------------------------------------


def test_a_job_is_a_row_of_the_actions_transaction_and_none_of_a_rolled_back_one(
    db, app, redis_queue, make_user, make_org
):
    from crowdsource.accounts import orgs

    owner, invitee = make_user(), make_user(email="invitee@example.com")
    organization = make_org(owner)
    with pytest.raises(DomainError), transaction():
        orgs.invite_member(owner, organization, invitee.email)
        assert [row.job_path for row in db.session.scalars(sa.select(OutboxJob))] == [INVITE_JOB]
        raise DomainError("changed my mind")
    assert rows() == [] and redis_queue.count == 0

    with transaction():
        orgs.invite_member(owner, organization, invitee.email)
    (row,) = rows()
    assert row.sent_at is not None and row.queue == "mail"
    (job,) = redis_queue.lane("mail").jobs
    assert job.id == row.rq_job_id and job.args == (INVITE_JOB, row.args[0])
    assert job.retries_left == 5  # the mail's RQ retries travel with the row


# --- Redis refusing ---------------------------------------------------------------------


def test_with_redis_refusing_the_action_succeeds_and_its_mail_goes_out_when_redis_returns(
    app, db, client, login, make_user, make_org, private_redis, redis_at, outbox, monkeypatch
):
    queues = redis_at(private_redis.url)  # nothing listens there yet: connections refused
    owner = make_user()
    organization = make_org(owner)
    make_user(email="invitee@example.com")

    response, took = invite_through_the_page(
        client, login, owner, organization, "invitee@example.com"
    )
    assert response.status_code == 302, response.text
    assert took < 5
    (row,) = rows()
    assert row.sent_at is None and "ConnectionError" in row.last_error

    make_user(email="second@example.com")
    response, _ = invite_through_the_page(client, login, owner, organization, "second@example.com")
    assert response.status_code == 302
    assert [row.sent_at for row in rows()] == [None, None]

    # The admin sees what waits, and since when.
    admin = make_user(is_admin=True)
    login(admin)
    page = client.get("/admin/jobs")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "2 jobs wait to be handed to the queue" in text
    assert text.count('data-testid="outbox-row"') == 2 and INVITE_JOB in text
    assert "Redis does not answer" in text  # the failed jobs cannot be listed meanwhile

    # Redis returns; a worker's relay hands both rows over and the mail goes out.
    connection = private_redis.start()
    queues = Queues(connection, queues.name).install(app, monkeypatch)
    assert job_outbox.relay() == 2
    assert all(row.sent_at is not None for row in rows())
    assert queues.lane("mail").count == 2
    queues.run()
    assert sorted(message.to[0] for message in outbox) == [
        "invitee@example.com",
        "second@example.com",
    ]
    db.session.expire_all()
    assert all(invitation.emailed_at for invitation in db.session.scalars(sa.select(Invitation)))
    assert "None: every job has been handed to the queue." in client.get("/admin/jobs").text


def test_the_relay_does_not_push_a_row_twice(app, db, redis_queue, make_user, make_org, clock):
    from crowdsource.accounts import orgs

    owner, invitee = make_user(), make_user()
    organization = make_org(owner)
    with transaction():
        orgs.invite_member(owner, organization, invitee.email)
    assert rows()[0].sent_at is not None
    # As if the process had died after Redis accepted the job, before marking the row sent.
    with transaction():
        db.session.execute(sa.update(OutboxJob).values(sent_at=None))
    clock.advance(seconds=job_outbox.LEASE_SECONDS + 1)
    assert job_outbox.relay() == 1
    assert redis_queue.count == 1 and rows()[0].sent_at is not None


# --- Redis hanging ----------------------------------------------------------------------


def test_with_redis_hanging_actions_succeed_without_waiting_on_it_again(
    app, db, client, login, make_user, make_org, hung_redis, redis_at
):
    redis_at(hung_redis.url)
    owner = make_user()
    organization = make_org(owner)
    for email in ("one@example.com", "two@example.com", "three@example.com"):
        make_user(email=email)

    response, first = invite_through_the_page(client, login, owner, organization, "one@example.com")
    assert response.status_code == 302
    assert first < 5  # the bounded socket timeout (0.5 s here), not gunicorn's 30 s
    assert hung_redis.connections == 1
    (row,) = rows()
    assert row.sent_at is None and "Timeout" in row.last_error

    # Redis is left alone for REDIS_RETRY_SECONDS: the next actions do not wait on it at all.
    for email in ("two@example.com", "three@example.com"):
        response, _ = invite_through_the_page(client, login, owner, organization, email)
        assert response.status_code == 302
    assert hung_redis.connections == 1
    assert [row.sent_at for row in rows()] == [None, None, None]
    assert all(row.claimed_until is None for row in rows())  # due for the relay at once

    login(make_user(is_admin=True))
    page = client.get("/admin/jobs")
    assert page.status_code == 200
    assert "3 jobs wait to be handed to the queue" in page.text
    assert "Redis does not answer" in page.text and hung_redis.connections == 1


# --- the web process dies between the commit and the push ------------------------------


@pytest.mark.postgresql
def test_mail_of_an_action_whose_server_died_right_after_the_commit_is_still_sent(
    app, db, app_server, workers, make_user, make_org, redis_queue, clock
):
    """The server is killed after the invitation's transaction committed and before anything
    was handed to Redis: without the outbox, that mail was lost for good."""
    owner = make_user()
    organization = make_org(owner)
    invitee = make_user(email="invitee@example.com")
    app_server.start(pause_after_commit=1, pause_path=r"/orgs/\d+/members")
    session = log_in_over_http(app_server.url, owner)
    members = f"{app_server.url}/orgs/{organization.id}/members"
    form = {"email": invitee.email, "role": "member", "csrf_token": csrf_token(session, members)}
    threading.Thread(target=_post_quietly, args=(session, members, form), daemon=True).start()
    app_server.wait_for_pause()
    app_server.kill()
    (row,) = rows()
    assert row.sent_at is None and redis_queue.count == 0  # committed, never pushed

    clock.advance(seconds=job_outbox.LEASE_SECONDS + 1)
    worker = workers.start()  # its relay finds the row whose claim lapsed
    workers.finish(worker)
    (row,) = rows()
    assert row.sent_at is not None
    invitation = db.session.scalars(sa.select(Invitation)).one()
    assert invitation.emailed_at is not None


def log_in_over_http(base_url, user):
    import requests

    from tests.helpers import PASSWORD

    session = requests.Session()
    token = csrf_token(session, f"{base_url}/login")
    response = session.post(
        f"{base_url}/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=PATIENCE,
    )
    assert response.status_code == 302, response.text
    return session


def csrf_token(session, url):
    import re

    page = session.get(url, timeout=PATIENCE).text
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]


def _post_quietly(session, url, data):
    import requests

    with contextlib.suppress(requests.RequestException):  # the server is killed meanwhile
        session.post(url, data=data, allow_redirects=False, timeout=PATIENCE)


# --- the queues' order, and jobs whose worker died --------------------------------------


@pytest.mark.postgresql
def test_a_webhook_job_starts_within_one_job_of_a_thousand_mail_jobs(
    app, db, redis_queue, workers, make_user
):
    from crowdsource.notifications.models import Kind, Notification
    from crowdsource.payments import card

    user = make_user()
    with transaction():
        db.session.execute(
            sa.insert(Notification),
            [{"user_id": user.id, "kind": Kind.BID_SUBMITTED, "params": {}, "link": "/"}] * 1000,
        )
        for (notification_id,) in db.session.execute(sa.select(Notification.id)).all():
            job_outbox.add(
                "crowdsource.notifications.jobs:send_notification_email",
                [notification_id],
                queue=job_outbox.MAIL,
            )
    mail = redis_queue.lane("mail")
    assert mail.count == 1000
    workers.start()
    wait_until(lambda: mail.finished_job_registry.count >= 20, PATIENCE, "20 mail jobs done")
    with transaction():
        row, _ = card.store_event({"id": "evt_order", "type": "charge.updated", "data": {}})
        card.enqueue_processing(row)
    webhook_job_id = rows()[-1].rq_job_id
    payments = redis_queue.lane("payments")
    wait_until(
        lambda: webhook_job_id in payments.finished_job_registry.get_job_ids(),
        PATIENCE,
        "the webhook job done",
    )
    workers.stop()
    from rq.job import Job

    webhook = Job.fetch(webhook_job_id, connection=redis_queue.connection)
    mail_jobs = Job.fetch_many(mail.finished_job_registry.get_job_ids(), connection=mail.connection)
    started_in_between = [
        job
        for job in mail_jobs
        if job and webhook.enqueued_at < job.started_at < webhook.started_at
    ]
    assert len(started_in_between) <= 1
    assert mail.count > 0, "the webhook job should not have waited for the mail"


@pytest.mark.postgresql
def test_a_job_whose_worker_was_killed_is_retried_by_another_worker(
    app, db, redis_queue, workers, make_user, make_org
):
    from crowdsource.accounts import orgs
    from tests.workers import children_of, kill_and_wait

    workers.extra_env.update(RQ_ABANDONED_SECONDS="2", RQ_MAINTENANCE_SECONDS="1")
    owner, invitee = make_user(), make_user(email="invitee@example.com")
    organization = make_org(owner)
    with transaction():
        orgs.invite_member(owner, organization, invitee.email)
    first = workers.start(pause_before_commit=1)  # the horse stops before recording the mail
    horse = workers.wait_for_pause(first)
    assert horse in children_of(first.pid)
    kill_and_wait(first.pid)  # the worker first: it cannot report its horse's death
    kill_and_wait(horse)
    (job_id,) = redis_queue.lane("mail").started_job_registry.get_job_ids(cleanup=False)

    workers.start(burst=False)  # a worker that keeps running, as in production
    mail = redis_queue.lane("mail")
    wait_until(
        lambda: job_id in mail.scheduled_job_registry.get_job_ids(),
        PATIENCE,
        "the abandoned job scheduled for its retry",
    )
    redis_queue.requeue_scheduled(_job(redis_queue, job_id))  # its retry interval has passed
    wait_until(lambda: _emailed(db, invitee), PATIENCE, "the invitation mailed by the retry")
    assert redis_queue.failed_count == 0


def _job(queues, job_id):
    from rq.job import Job

    return Job.fetch(job_id, connection=queues.connection)


def _emailed(db, invitee):
    db.session.expire_all()
    invitation = db.session.scalars(sa.select(Invitation).filter_by(invitee_id=invitee.id)).one()
    return invitation.emailed_at is not None


def test_waiting_rows_are_listed_with_their_age(app, db, make_user, clock, redis_at):
    redis_at("redis://127.0.0.1:1/0")
    with transaction():
        job_outbox.add("crowdsource.sweep:sweep_due", [])
    clock.advance(minutes=3)
    count, oldest, waiting = job_outbox.waiting()
    assert count == 1 and [row.job_path for row in waiting] == ["crowdsource.sweep:sweep_due"]
    assert dt.timedelta(minutes=3) <= clock.now() - oldest < dt.timedelta(minutes=4)


def test_the_sweep_purges_rows_sent_a_week_ago_and_keeps_waiting_ones(
    app, db, make_user, clock, redis_queue, monkeypatch
):
    from crowdsource.sweep import sweep_due

    with transaction():
        job_outbox.add("crowdsource.sweep:sweep_due", [])  # sent at once
    # Redis "down" for this process: the next row waits.
    monkeypatch.setitem(app.extensions, "redis_down_until", time.monotonic() + 60)
    with transaction():
        job_outbox.add("crowdsource.sweep:sweep_due", [])
    clock.advance(days=job_outbox.KEEP_SENT_DAYS, hours=1)
    assert sweep_due()["outbox_rows_purged"] == 1
    (waiting,) = rows()
    assert waiting.sent_at is None
