"""The dispute page offers exactly the steps the services accept (issue 13, point 6).

For each stage of a case and each person who may look at it, the page is fetched through the
test client and its forms read; then every step is tried through its service, in a
transaction that is rolled back (money included), and the set it accepted must equal the set
the page shows."""

import datetime as dt

import pytest

from crowdsource.db import db, transaction
from crowdsource.disputes import services
from crowdsource.errors import DomainError
from crowdsource.sweep import sweep_due
from tests.helpers import DISPUTE_DUE as DUE
from tests.payments.support import reload

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")

RELEASE, REFUND = 606_000, DUE - 606_000
ROLES = ["owner", "broker", "professor", "qingdao", "shandong", "zibo", "outsider", "admin"]
STAGES = [
    "open",
    "unanswered_to_review",
    "responded",
    "under_review",
    "ruled",
    "ruled_one_waived",
    "ruled_window_passed",
    "appealed",
    "appeal_taken",
    "final",
]

FORMS = {
    "respond": "respond",
    "post": "post",
    "waive": "waive",
    "appeal": "appeal",
    "take": "take",
    "ask": "ask",
    "rule": "rule",
    "rule_on_appeal": "appeal-ruling",
}


class RolledBack(Exception):
    """Raised at the end of a tried step so that its transaction rolls back."""


def controls(html, dispute):
    return {
        step for step, path in FORMS.items() if f'action="/disputes/{dispute.id}/{path}"' in html
    }


STEPS = {
    "respond": lambda actor, d: services.respond(actor, d, "It meets the agreed test set."),
    "post": lambda actor, d: services.post(actor, d, "One more photo of the line."),
    "waive": lambda actor, d: services.waive_appeal(actor, d),
    "appeal": lambda actor, d: services.appeal(actor, d, "The lighting was in the spec."),
    "take": lambda actor, d: services.take(actor, d),
    "ask": lambda actor, d: services.request_information(actor, d, "client", "Which lamps?"),
    "rule": lambda actor, d: services.rule(actor, d, RELEASE, REFUND, "Partly met."),
    "rule_on_appeal": lambda actor, d: services.rule_on_appeal(actor, d, True, "Upheld."),
}


def accepted(actor, dispute):
    ok = set()
    for step, attempt in STEPS.items():
        try:
            with transaction():
                attempt(actor, dispute.id)
                raise RolledBack
        except RolledBack:
            ok.add(step)
        except DomainError:
            pass
        finally:
            db.session.expire_all()
    return ok


def case_at(stage, people, case, clock):
    """The case's dispute (opened by the enterprise) brought to ``stage``."""
    qingdao, shandong = people.managers["qingdao"], people.managers["shandong"]
    with transaction():
        dispute = services.open_dispute(people.owner, case.milestone.id, "Misses defects.")
    if stage == "unanswered_to_review":
        clock.move_to(dispute.respond_by + dt.timedelta(minutes=1))
        assert sweep_due()["disputes_to_review"] == 1
    if stage in ("responded", "under_review") or stage.startswith(("ruled", "appeal", "final")):
        with transaction():
            services.respond(people.broker, dispute.id, "It meets the agreed 95 %.")
    if stage == "under_review" or stage.startswith(("ruled", "appeal", "final")):
        with transaction():
            services.take(qingdao, dispute.id)
    if stage.startswith(("ruled", "appeal", "final")):
        with transaction():
            services.rule(qingdao, dispute.id, RELEASE, REFUND, "Partly met.")
    if stage in ("ruled_one_waived", "final"):
        with transaction():
            services.waive_appeal(people.owner, dispute.id)
    if stage == "final":
        with transaction():
            services.waive_appeal(people.broker, dispute.id)
    if stage == "ruled_window_passed":
        clock.move_to(reload(dispute).appeal_due_at + dt.timedelta(minutes=1))
    if stage.startswith("appeal"):
        with transaction():
            services.appeal(people.broker, dispute.id, "The lighting was in the spec.")
    if stage == "appeal_taken":
        with transaction():
            services.take(shandong, dispute.id)
    db.session.expire_all()
    return reload(dispute)


def actor_of(people, role):
    return people.managers[role] if role in people.managers else getattr(people, role)


@pytest.mark.parametrize("stage", STAGES)
def test_the_dispute_page_shows_exactly_the_steps_the_services_accept(
    client, login, people, case, clock, stage
):
    dispute = case_at(stage, people, case, clock)
    seen = {}
    for role in ROLES:
        actor = actor_of(people, role)
        login(actor)
        response = client.get(f"/disputes/{dispute.id}")
        shown = controls(response.get_data(as_text=True), dispute)
        assert shown == accepted(actor, dispute), role
        assert shown == services.allowed_actions(actor, dispute), role
        if response.status_code == 404:
            assert shown == set()
        seen[role] = shown
    expected = {
        "open": {"owner": {"post"}, "broker": {"respond"}, "qingdao": set()},
        "unanswered_to_review": {"broker": {"post"}, "qingdao": {"take"}},
        "responded": {"broker": {"post"}, "qingdao": {"take"}, "shandong": {"take"}},
        "under_review": {"qingdao": {"post", "ask", "rule"}, "shandong": set()},
        "ruled": {"owner": {"post", "waive", "appeal"}, "qingdao": {"post"}},
        "ruled_one_waived": {"owner": {"post", "appeal"}, "broker": {"post", "waive", "appeal"}},
        "ruled_window_passed": {"owner": {"post", "waive"}},
        "appealed": {"shandong": {"take"}, "qingdao": {"post"}},
        "appeal_taken": {"shandong": {"post", "ask", "rule_on_appeal"}},
        "final": {role: set() for role in ROLES},
    }[stage]
    for role, steps in expected.items():
        assert seen[role] == steps, role
    assert seen["outsider"] == seen["zibo"] == set()
