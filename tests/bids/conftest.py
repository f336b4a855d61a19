"""Fixtures of the bid tests: an enterprise with an open task, an agency with an institution."""

from types import SimpleNamespace

import pytest

from tests.helpers import add_member


@pytest.fixture
def market(make_user, make_org, make_task):
    """An enterprise (owner and a colleague) with an open task, and an individual solver."""
    owner = make_user(name="Li Wei", email="li.wei@haian.example")
    enterprise = make_org(owner, name="Haian Robotics")
    colleague = make_user(name="Chen Jing", email="chen.jing@haian.example")
    add_member(colleague, enterprise)
    task = make_task(owner, enterprise)
    solver = make_user(name="Zhao Lei", email="zhao.lei@example.com")
    return SimpleNamespace(
        owner=owner, colleague=colleague, enterprise=enterprise, task=task, solver=solver
    )


@pytest.fixture
def brokers(make_user, make_org):
    """A service agency with one member, and a university to be paid through it."""
    broker = make_user(name="Sun Mei", email="sun.mei@agency.example")
    agency = make_org(broker, name="Jiaozhou Tech Transfer", kind="agency", ownership="private")
    professor = make_user(name="Prof. Qian", email="qian@university.example")
    institution = make_org(
        professor, name="Qingdao University of Science", kind="institution", ownership="university"
    )
    return SimpleNamespace(
        broker=broker, agency=agency, professor=professor, institution=institution
    )
