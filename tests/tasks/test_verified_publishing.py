"""Only verified organizations (实名认证) publish tasks, unless the platform relaxes the rule
(REQUIRE_REAL_NAME_VERIFICATION=0); wherever a task shows its enterprise, a verified one
carries the badge."""

import pytest

from crowdsource.accounts import verification
from crowdsource.config import from_environment
from crowdsource.db import transaction
from crowdsource.errors import NotAllowed
from crowdsource.lifecycle import SYSTEM
from crowdsource.tasks import services
from crowdsource.tasks.models import TaskStatus

REFUSAL = (
    "Only verified organizations publish tasks, and Laoshan Optics is not verified yet: an owner "
    "applies with its business licence on the organization&#39;s page."
)
BADGE = 'data-testid="verified-badge"'


@pytest.fixture
def unverified(make_user, make_org, make_task):
    """A draft of an enterprise that is not verified, and its owner."""
    owner = make_user(name="Wang Fang")
    organization = make_org(owner, name="Laoshan Optics", verified=False)
    return owner, make_task(owner, organization, publish=False)


def test_an_unverified_organization_cannot_publish(client, db, login, unverified):
    owner, draft = unverified
    login(owner)
    page = client.get(f"/tasks/{draft.id}").text
    assert ">Publish</button>" not in page
    assert 'data-testid="publish-refusal"' in page and REFUSAL in page
    assert f"/orgs/{draft.organization_id}/verification" in page

    response = client.post(f"/tasks/{draft.id}/publish")
    assert response.status_code == 403 and REFUSAL in response.text
    db.session.refresh(draft)
    assert draft.status == TaskStatus.DRAFT and draft.published_at is None
    assert "publish" not in services.allowed_actions(owner, draft)
    with pytest.raises(NotAllowed, match="Only verified organizations publish tasks"):
        services.publish_task(owner, draft)


def test_once_verified_the_same_draft_is_published(client, db, login, unverified):
    owner, draft = unverified
    login(owner)
    with transaction():
        verification.vouch(SYSTEM, draft.organization, "Licence seen at the counter.")
    assert client.post(f"/tasks/{draft.id}/publish").status_code == 302
    db.session.refresh(draft)
    assert draft.status == TaskStatus.OPEN


def test_the_platform_may_relax_the_rule(app, client, db, login, unverified, monkeypatch):
    owner, draft = unverified
    monkeypatch.setitem(app.config, "REQUIRE_REAL_NAME_VERIFICATION", False)
    login(owner)
    page = client.get(f"/tasks/{draft.id}").text
    assert ">Publish</button>" in page and 'data-testid="publish-refusal"' not in page
    assert client.post(f"/tasks/{draft.id}/publish").status_code == 302
    db.session.refresh(draft)
    assert draft.status == TaskStatus.OPEN
    # what is shown stays true: the enterprise is not verified, and carries no badge
    assert BADGE not in client.get(f"/tasks/{draft.id}").text


def test_the_rule_is_on_unless_the_environment_turns_it_off():
    assert from_environment({})["REQUIRE_REAL_NAME_VERIFICATION"] is True
    production = {"CROWDSOURCE_ENV": "production", "SECRET_KEY": "s"}
    assert from_environment(production)["REQUIRE_REAL_NAME_VERIFICATION"] is True
    relaxed = {"REQUIRE_REAL_NAME_VERIFICATION": "0"}
    assert from_environment(relaxed)["REQUIRE_REAL_NAME_VERIFICATION"] is False


def test_the_task_page_and_the_list_badge_a_verified_enterprise_only(
    client, db, make_user, make_org, make_task, monkeypatch, app
):
    owner = make_user()
    verified = make_task(owner, make_org(owner, name="Haian Robotics"), title="Alpha task")
    monkeypatch.setitem(app.config, "REQUIRE_REAL_NAME_VERIFICATION", False)
    other = make_user()
    unverified = make_task(
        other, make_org(other, name="Laoshan Optics", verified=False), title="Beta task"
    )

    page = client.get(f"/tasks/{verified.id}").text
    assert BADGE in page and "Verified</span>" in page
    assert BADGE not in client.get(f"/tasks/{unverified.id}").text
    listing = client.get("/tasks").text
    cards = {card.split("</h2>")[0]: card for card in listing.split('data-testid="task-card"')[1:]}
    (verified_card,) = [card for title, card in cards.items() if "Alpha task" in title]
    (unverified_card,) = [card for title, card in cards.items() if "Beta task" in title]
    assert BADGE in verified_card and BADGE not in unverified_card
