"""Mail jobs survive a killed work horse: one message in the reader's mailbox, recorded once.

For each mail job (a notification's e-mail, an invitation's e-mail) and each point of its
run — before the SMTP call, while the server holds the DATA it has not accepted, after the
server accepted the message but before its reply arrived, after the job's database write —
a ``flask worker`` process runs the job, its work horse is killed there with SIGKILL, RQ
schedules the retry, and a second worker runs it. The mail goes to a fake SMTP server
(tests.fake_smtp) that counts messages as a mailbox does, by Message-ID.

The point "after the SMTP call" shows the one window SMTP leaves open: the server has the
message, our database does not know, so the retry sends it again. Both copies carry the same
Message-ID, so the mailbox shows one message; the server's raw count is 2, asserted as such.

At the end, plain tests (SQLite too): a job run twice sends once, a refused send is retried.
"""

import re
import smtplib
from types import SimpleNamespace

import fakeredis
import pytest
from flask_babel import force_locale
from flask_babel import gettext as _

from crowdsource import mail
from crowdsource.accounts import jobs as account_jobs
from crowdsource.accounts import orgs
from crowdsource.accounts.models import Invitation
from crowdsource.db import db, transaction
from crowdsource.notifications import jobs as notification_jobs
from crowdsource.notifications import messages
from crowdsource.notifications.models import Kind, Notification
from crowdsource.notifications.services import notify
from tests.fake_smtp import FakeSMTP, subject_of
from tests.workers import Workers

#: other threads or processes must see what the test commits
pytestmark = pytest.mark.committing

NOTIFICATION_JOB = "crowdsource.notifications.jobs:send_notification_email"
INVITATION_JOB = "crowdsource.accounts.jobs:send_invitation_email"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def smtp():
    server = FakeSMTP().start()
    yield server
    server.stop()


@pytest.fixture
def mail_workers(app, redis_queue, tmp_path, smtp, fork_server):
    """tests.workers' Workers, with mail sent by SMTP to the fake server."""
    workers = Workers(
        app,
        redis_queue,
        tmp_path,
        fork_server,
        extra_env=dict(
            smtp.env,
            # Longer than any hold: a held SMTP call ends by the test's kill, not a timeout.
            MAIL_TIMEOUT="120",
            # The app's key, so that Message-IDs derived in the worker match the test's.
            SECRET_KEY=app.config["SECRET_KEY"],
        ),
    )
    yield workers
    workers.stop()
    workers.forget()


# --- the two mail jobs: what starts one, and what its message must say ----------------------


def notification_mail(make_user, make_org, make_task):
    """A Chinese-reading bidder's rejection notice: a notification whose job is enqueued."""
    owner = make_user(name="Li Wei", email="li.wei@haian.example")
    task = make_task(owner, make_org(owner), title="Weld seam tracking")
    reader = make_user(name="张伟", email="zhang.wei@example.cn", locale="zh_CN")
    with transaction():
        [notification] = notify(
            [reader], Kind.BID_REJECTED, "/bids/1", task, task=task.title, reason="预算削减"
        )
    with force_locale("zh_CN"):
        subject = messages.subject(notification)
    return SimpleNamespace(
        model=Notification, row_id=notification.id, job=NOTIFICATION_JOB, to=reader.email,
        subject=subject, english="Your bid on “Weld seam tracking” was not selected",
    )  # fmt: skip


def invitation_mail(make_user, make_org, make_task):
    """An invitation of a Chinese-reading user to an organization: its job is enqueued."""
    owner = make_user(name="Li Wei", email="li.wei@haian.example")
    organization = make_org(owner, name="Haian Robotics")
    invitee = make_user(name="王芳", email="wang.fang@example.cn", locale="zh_CN")
    with transaction():
        invitation = orgs.invite_member(owner, organization, invitee.email)
    with force_locale("zh_CN"):
        subject = _("%(org)s invites you to Crowdsource", org="Haian Robotics")
    return SimpleNamespace(
        model=Invitation, row_id=invitation.id, job=INVITATION_JOB, to=invitee.email,
        subject=subject, english="Haian Robotics invites you to Crowdsource",
    )  # fmt: skip


MAIL_JOBS = {"notification": notification_mail, "invitation": invitation_mail}

#: where the horse dies: (how the test gets it there, accepted copies before the retry,
#: copies the server has accepted in the end)
POINTS = {
    # the job read what to send and committed (1st commit); no connection yet
    "before the SMTP call": (dict(pause_after_commit=1), 0, 1),
    # connected, DATA sent, not accepted: the server drops it with the connection
    "during the SMTP call": (dict(hold="before_accept"), 0, 1),
    # accepted, the 250 reply held back: the job never learns it; the retry sends a copy
    "after the SMTP call": (dict(hold="after_accept"), 1, 2),
    # emailed_at committed (2nd commit): the retry finds it and sends nothing
    "after the database write": (dict(pause_after_commit=2), 1, 1),
}


def jobs_of(queue, job_path):
    return [job for job in queue.jobs if job.args and job.args[0] == job_path]


def stored(mail_job):
    db.session.expire_all()
    return db.session.get(mail_job.model, mail_job.row_id)


def kill_the_horse_at(point, workers, smtp):
    """Start a worker, let its horse reach ``point`` and SIGKILL it there."""
    how = POINTS[point][0]
    if "hold" in how:
        smtp.hold_next(how["hold"])
        worker = workers.start()
        smtp.wait_until_held()
    else:
        worker = workers.start(pause_after_commit=how["pause_after_commit"])
        workers.wait_for_pause(worker)
    workers.kill_horse(worker)
    smtp.release()  # the held handler died with the connection; nothing more arrives from it
    workers.finish(worker)  # the worker saw its horse die and scheduled the retry; queue empty


@pytest.mark.postgresql
@pytest.mark.parametrize("point", list(POINTS))
@pytest.mark.parametrize("kind", list(MAIL_JOBS))
def test_a_mail_job_killed_at_any_point_leaves_one_message_recorded_once(
    app, db, redis_queue, mail_workers, smtp, make_user, make_org, make_task, kind, point
):
    mail_job = MAIL_JOBS[kind](make_user, make_org, make_task)
    [job] = jobs_of(redis_queue, mail_job.job)
    assert job.retries_left == len(mail.RETRY_INTERVALS)
    _, accepted_before_retry, accepted_in_the_end = POINTS[point]

    kill_the_horse_at(point, mail_workers, smtp)

    assert len(smtp.messages) == accepted_before_retry
    recorded = stored(mail_job).emailed_at
    assert (recorded is not None) == (point == "after the database write")
    # RQ took the dead horse as a failure and scheduled the job's retry (not failed for good)
    job.refresh()
    assert job.get_status() == "scheduled"
    assert job.retries_left == len(mail.RETRY_INTERVALS) - 1
    assert redis_queue.failed_count == 0
    redis_queue.requeue_scheduled(job)  # its retry interval has passed
    mail_workers.finish(mail_workers.start())

    # The server holds 1 message, or 2 copies of it for a kill after the SMTP call: it had
    # accepted the first, the job never heard so and SMTP has no idempotency key to refuse the
    # second…
    assert len(smtp.messages) == accepted_in_the_end
    # …and the reader's mailbox shows one: every copy has the same, stored Message-ID.
    mailbox = smtp.mailbox()
    assert len(mailbox) == 1, f"the reader's mailbox shows {len(mailbox)} messages"
    message = mailbox[0]
    row = stored(mail_job)
    assert {copy["Message-ID"] for copy in smtp.messages} == {row.email_message_id}
    assert row.email_message_id == mail.message_id(kind, mail_job.row_id)
    assert row.emailed_at is not None
    if recorded is not None:
        assert row.emailed_at == recorded  # the retry neither sent nor recorded anything
    # in the reader's language: Chinese
    assert message["To"] == mail_job.to
    assert subject_of(message) == mail_job.subject != mail_job.english
    assert CHINESE.search(mail_job.subject)
    # and no job is left failed
    job.refresh()
    assert job.get_status() == "finished"
    assert redis_queue.failed_count == 0
    assert redis_queue.count == 0 and redis_queue.scheduled_count == 0


# --- plain runs of the jobs (also on SQLite) ------------------------------------------------


@pytest.mark.parametrize("kind", list(MAIL_JOBS))
def test_running_a_mail_job_twice_sends_one_message(
    db, outbox, make_user, make_org, make_task, kind
):
    mail_job = MAIL_JOBS[kind](make_user, make_org, make_task)  # runs the job inline, once
    run_job = {
        "notification": notification_jobs.send_notification_email,
        "invitation": account_jobs.send_invitation_email,
    }[kind]

    run_job(mail_job.row_id)  # a retry of a job that had sent its message

    [message] = [m for m in outbox if m.to == [mail_job.to]]
    assert message.subject == mail_job.subject
    row = stored(mail_job)
    assert row.emailed_at is not None
    assert message.extra_headers["Message-ID"] == row.email_message_id
    assert row.email_message_id == mail.message_id(kind, mail_job.row_id)
    expected = rf"<{kind}-{mail_job.row_id}\.[0-9a-f]{{20}}@crowdsource\.test>"
    assert re.fullmatch(expected, row.email_message_id)


def test_a_mail_the_server_refused_fails_its_job_and_a_retry_sends_it(
    app, db, smtp, make_user, make_org, make_task, monkeypatch
):

    mailman = app.extensions["mailman"]
    for name, value in dict(backend="smtp", server="127.0.0.1", port=smtp.port).items():
        monkeypatch.setattr(mailman, name, value)
    smtp.refuse_next()
    # notify()'s inline job meets a busy server (an inline job logs its failure)
    mail_job = notification_mail(make_user, make_org, make_task)
    assert smtp.messages == [] and stored(mail_job).emailed_at is None
    smtp.refuse_next()

    # The job fails (so that RQ retries it) and records nothing.
    with pytest.raises(smtplib.SMTPDataError, match="try again later"):
        notification_jobs.send_notification_email(mail_job.row_id)
    assert stored(mail_job).emailed_at is None

    notification_jobs.send_notification_email(mail_job.row_id)  # RQ's next retry

    [message] = smtp.messages
    row = stored(mail_job)
    assert message["Message-ID"] == row.email_message_id and row.emailed_at is not None
    assert subject_of(message) == mail_job.subject


@pytest.mark.parametrize("kind", list(MAIL_JOBS))
def test_mail_jobs_are_enqueued_with_rq_retries(db, rq_app, make_user, make_org, make_task, kind):
    queue = rq_app("redis://fake", fakeredis.FakeStrictRedis())
    mail_job = MAIL_JOBS[kind](make_user, make_org, make_task)

    [job] = jobs_of(queue, mail_job.job)
    assert job.retries_left == len(mail.RETRY_INTERVALS)
    assert job.retry_intervals == mail.RETRY_INTERVALS
