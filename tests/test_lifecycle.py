"""Statuses change only through lifecycle.transition(), each move with its audit row naming
who made it: a user, or the system (a sweep, a webhook) recorded with no actor."""

import datetime as dt
import logging
import pathlib
import re

import pytest

from crowdsource import audit
from crowdsource.bids import offers
from crowdsource.bids.models import BidStatus
from crowdsource.contracts.signing import Signer
from crowdsource.db import db, transaction, utcnow
from crowdsource.lifecycle import SYSTEM, UnrecordedStatusChange, transition
from crowdsource.tasks import services as tasks
from crowdsource.tasks.models import TASK_MOVES, TaskStatus

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "crowdsource"


def moves(subject, subject_id):
    return [
        (event.from_state, event.to_state, event.actor_id)
        for event in audit.trail(subject, subject_id)
        if event.action == "status"
    ]


@pytest.fixture
def task(make_user, make_org, make_task):
    owner = make_user(name="Li Wei")
    return make_task(owner, make_org(owner), publish=False)


def test_a_status_assigned_directly_is_refused_at_the_flush(task):
    task.status = TaskStatus.OPEN

    with pytest.raises(UnrecordedStatusChange, match=r"Task \d+\.status: .+ -> open"):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(type(task), task.id).status == TaskStatus.DRAFT
    assert moves("task", task.id) == []


def test_a_direct_assignment_after_a_transition_is_refused_too(task):
    with pytest.raises(UnrecordedStatusChange, match="cancelled"), transaction():
        transition(task, TaskStatus.OPEN, TASK_MOVES, actor=task.created_by)
        task.status = TaskStatus.CANCELLED
    assert db.session.get(type(task), task.id).status == TaskStatus.DRAFT


def test_a_transition_passes_the_guard_with_its_audit_row(task):
    with transaction():
        transition(task, TaskStatus.OPEN, TASK_MOVES, actor=task.created_by)
    assert moves("task", task.id) == [("draft", "open", task.created_by.id)]


def test_outside_tests_an_unrecorded_change_is_logged_and_kept(app, task, caplog, monkeypatch):
    monkeypatch.setitem(app.config, "STRICT_STATUS_CHANGES", False)
    with caplog.at_level(logging.ERROR, logger="crowdsource.lifecycle"), transaction():
        task.status = TaskStatus.OPEN
    assert "status changed without lifecycle.transition()" in caplog.text
    assert db.session.get(type(task), task.id).status == TaskStatus.OPEN


def test_a_transition_must_name_its_actor(task):
    with pytest.raises(ValueError, match="needs its actor"):
        transition(task, TaskStatus.OPEN, TASK_MOVES, actor=None)
    assert task.status == TaskStatus.DRAFT


def test_publishing_closing_offering_and_signing_record_who_did_it(
    make_user, make_org, make_bid, task
):
    owner = task.created_by
    solver, other = make_user(name="Chen Jie"), make_user(name="Zhou Yan")
    with transaction():
        tasks.publish_task(owner, task)
    winner, loser = make_bid(solver, task), make_bid(other, task)
    with transaction():
        tasks.close_bidding(owner, task)
    with transaction():
        offer = offers.offer_bid(Signer(owner, "192.0.2.1"), winner)
    with transaction():
        offers.accept_offer(Signer(solver, "192.0.2.2"), offer)

    # the enterprise offers; the winner's signature awards the task and turns the others down
    assert moves("task", task.id) == [
        ("draft", "open", owner.id),
        ("open", "closed", owner.id),
        ("closed", "awarded", solver.id),
    ]
    assert moves("bid", winner.id) == [
        ("submitted", "offered", owner.id),
        ("offered", "accepted", solver.id),
    ]
    assert moves("bid", loser.id) == [("submitted", "rejected", solver.id)]
    assert moves("offer", offer.id) == [("open", "accepted", solver.id)]
    assert loser.status == BidStatus.REJECTED


def test_the_deadline_sweep_records_the_system_as_its_actor(make_bid, make_user, task):
    owner = task.created_by
    with transaction():
        tasks.publish_task(owner, task)
    with transaction():
        assert tasks.sweep_due(utcnow() + dt.timedelta(days=11)) == 1
    assert moves("task", task.id) == [("draft", "open", owner.id), ("open", "expired", None)]
    assert SYSTEM.id is None


# --- what the code says -------------------------------------------------------------------


def sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path.relative_to(PACKAGE.parent).as_posix(), path.read_text()


def test_no_status_is_assigned_outside_lifecycle():
    direct = re.compile(
        r"\.status\s*=[^=]|^\s*[\w.]+\.status\s*,[\w.,\s]*=[^=]"
        r"|values\([^)]*\bstatus\s*=|setattr\([^)]*[\"']status"
    )
    found = [
        f"{name}:{number}: {line.strip()}"
        for name, text in sources()
        if name != "crowdsource/lifecycle.py"
        for number, line in enumerate(text.splitlines(), start=1)
        if direct.search(line)
    ]
    assert found == []


def test_every_row_lock_is_taken_through_db_py():
    found = [
        f"{name}:{number}"
        for name, text in sources()
        if name != "crowdsource/db.py"
        for number, line in enumerate(text.splitlines(), start=1)
        if "with_for_update" in line
    ]
    assert found == []
