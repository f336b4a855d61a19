"""When a task can be edited, and what an unknown list filter means."""

import datetime as dt

import pytest

from crowdsource.db import transaction, utcnow
from crowdsource.errors import DomainError
from crowdsource.tasks import services
from crowdsource.tasks.models import TaskRevision
from tests.tasks.helpers import LISTED, details_of, listed_ids


def test_a_passed_deadline_cannot_be_moved_to_reopen_bidding(
    client, make_user, make_org, make_task, login
):
    owner = make_user()
    task = make_task(owner, make_org(owner))
    with transaction():
        task.bid_deadline = utcnow() - dt.timedelta(minutes=5)  # not swept yet
    later = utcnow() + dt.timedelta(days=5)
    with pytest.raises(DomainError, match="Only a draft or a task open for bids"):
        services.update_task(owner, task, details_of(task, bid_deadline=later))
    login(owner)
    assert client.get(f"/tasks/{task.id}/edit").status_code == 400


def test_a_cancelled_task_has_no_edit_form(client, make_user, make_org, make_task, login):
    owner = make_user()
    task = make_task(owner, make_org(owner))
    with transaction():
        services.cancel_task(owner, task, "Budget withdrawn")
    login(owner)
    response = client.get(f"/tasks/{task.id}/edit")
    assert response.status_code == 400
    assert "Only a draft or a task open for bids can be edited." in response.get_data(as_text=True)


def test_saving_the_same_deadline_to_the_minute_records_no_change(make_user, make_org, make_task):
    owner = make_user()
    deadline = (utcnow() + dt.timedelta(days=3)).replace(second=37)
    task = make_task(owner, make_org(owner), bid_deadline=deadline)
    with transaction():
        services.update_task(owner, task, details_of(task, bid_deadline=deadline.replace(second=0)))
    assert task.id and not TaskRevision.query.filter_by(task_id=task.id).count()


def test_an_unknown_status_filter_lists_open_tasks(client, make_user, make_org, make_task):
    owner = make_user()
    organization = make_org(owner)
    open_task = make_task(owner, organization)
    cancelled = make_task(owner, organization, title="Another task")
    with transaction():
        services.cancel_task(owner, cancelled, "No longer needed")
    refused = client.get("/tasks?status=bogus")
    assert refused.status_code == 400  # the message at the filter: tests/test_bad_input.py
    assert LISTED.findall(refused.get_data(as_text=True)) == [str(open_task.id)]
    assert set(listed_ids(client.get("/tasks?status=all"))) == {open_task.id, cancelled.id}
