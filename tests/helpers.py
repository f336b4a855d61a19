"""Constants and utilities shared by tests (fixtures and builders live in tests/plugin.py)."""

import datetime as dt
import html
import io
import os
import re
import threading
import time

import pytest
import sqlalchemy as sa
from hypothesis import settings

from crowdsource.accounts.models import Membership, Role
from crowdsource.db import db, transaction, utcnow
from crowdsource.tasks import services as task_services

#: the password of every user made by the ``make_user`` builder
PASSWORD = "correct horse battery"
#: valid unified social credit codes for tests (check characters computed per GB 32100-2015)
CREDIT_CODES = [
    "91370200MA3C9F2X38",
    "52370000MJD61234XE",
    "12370000495571234X",
    "91350100M000100Y43",
    "91110000802100433B",
    "91370071MA3E00071K",
    "91370072MA3E000725",
    "91370073MA3E00073N",
]
#: the reason of the real-name verification the builders vouch for (crowdsource.accounts
#: .verification.vouch): their people and organizations are verified unless a test says not
BUILT_VERIFIED = "verified by the test builders"
#: the content of a small PDF and PNG to upload
PDF = b"%PDF-1.4 the test report of the prototype"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
#: the dispute tests' milestone (the ``case`` fixture), and what the enterprise pays for it
#: (with the 1 % client-side fee)
DISPUTE_AMOUNT = 1_000_000
DISPUTE_DUE = 1_010_000
#: how long a condition may take on a loaded machine (a worker's horse builds an app: seconds)
PATIENCE = 60


def wait_until(condition, timeout=PATIENCE, what="the condition", interval=0.05):
    """Poll ``condition`` until it returns something true; returns that, or fails after
    ``timeout`` seconds. For conditions nobody can signal (another process, the database):
    what a thread of this process can signal, wait for with a threading.Condition."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(interval)


def examples(share=1.0, deep_share=None):
    """The number of examples of a property test that is ``share`` of the loaded Hypothesis
    profile's (``default`` or ``deep``, registered in tests/plugin.py): an expensive test runs
    fewer than a cheap one, both scaled by the profile. ``deep_share``: the share in the deep
    profile instead (a slow test kept short in ``make test`` but run in full by ``.ci/run``)."""
    deep = settings.default.max_examples >= settings.get_profile("deep").max_examples
    if deep and deep_share is not None:
        share = deep_share
    return max(1, round(settings.default.max_examples * share))


def task_details(center_id, **changes):
    """The details of a typical task of the center ``center_id``, with ``changes``."""
    values = dict(
        title="Machine-vision inspection of PCB solder joints",
        summary="Detect solder defects on our SMT line.",
        description="We need a **vision system** that finds solder defects.",
        contract_type="development",
        fields=["智能制造"],
        skills=["machine vision"],
        budget_min_fen=5_000_000,
        budget_max_fen=8_000_000,
        bid_deadline=utcnow() + dt.timedelta(days=10),
        delivery_date=(utcnow() + dt.timedelta(days=60)).date(),
        center_id=center_id,
    )
    values.update(changes)
    return task_services.TaskDetails(**values)


def services_required():
    return os.environ.get("REQUIRE_SERVICES") == "1"


def unavailable(reason):
    """Skip for a missing service, or fail when the services are required."""
    if services_required():
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def table_counts():
    """Rows per table: a snapshot to prove that a refused request stored nothing."""
    return {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


#: the rows that signing in writes (an attempt, a session): logging in between requests adds them
SIGN_IN_TABLES = ("login_attempts", "user_sessions")


def stored_counts():
    """Rows per table, leaving out what logging in between requests adds (SIGN_IN_TABLES)."""
    counts = table_counts()
    for name in SIGN_IN_TABLES:
        counts.pop(name)
    return counts


def form_errors(response):
    """The error messages of a rendered form page, by field name."""
    errors = {}
    page = response.get_data(as_text=True)
    for field, message in re.findall(
        r'<div class="invalid-feedback" data-field="([^"]*)">([^<]*)</div>', page
    ):
        errors.setdefault(field, []).append(html.unescape(message))
    return errors


def together(app, attempts):
    """Run each of ``attempts`` (functions of no arguments, called inside a transaction) in a
    thread of its own, in a request context of an English reader, all released at once;
    returns what each returned or raised."""
    db.session.commit()  # the test's own session holds no transaction (and no lock) meanwhile
    barrier = threading.Barrier(len(attempts))
    outcomes = [None] * len(attempts)

    def run(number, attempt):
        with app.test_request_context(headers={"Accept-Language": "en"}):
            try:
                barrier.wait(timeout=20)
                with transaction():
                    outcomes[number] = attempt()
            except Exception as error:
                outcomes[number] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    db.session.expire_all()
    return outcomes


def add_member(user, organization, role=Role.MEMBER):
    """The user joins the organization (as a member by default)."""
    with transaction():
        db.session.add(Membership(user=user, organization=organization, role=role))


def pdf_file(name="report.pdf", content=PDF):
    """A PDF to upload (a form field's value)."""
    return (io.BytesIO(content), name)


def png_file(name="photo.png"):
    """A PNG to upload (a form field's value)."""
    return (io.BytesIO(PNG), name)


def stored_files(folder):
    """The files in the upload folder (it may not exist yet)."""
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def evidence_file(name="evidence.pdf"):
    """A PDF of evidence to upload in a dispute."""
    return (io.BytesIO(b"%PDF-1.4 the signed acceptance protocol"), name)
