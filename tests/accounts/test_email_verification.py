"""Proving an address: at registration and on every change of it. Until then a user may browse
and ask questions, but not post a task, bid, be invited or be paid."""

import re

import pytest
import sqlalchemy as sa

from crowdsource.accounts import orgs
from crowdsource.accounts.models import User
from crowdsource.db import db, transaction
from crowdsource.errors import DomainError, NotAllowed
from crowdsource.payments import payouts
from tests.helpers import PASSWORD, form_errors, table_counts
from tests.payments.support import BANK, accept, deliver, fund

LINK = re.compile(r"http://crowdsource\.test(/account/verify/[^\s]+)")
UNVERIFIED = (
    "Verify your email address first: open the link we sent you, or ask for a new one on "
    "your account page."
)


def verification_links(outbox, address):
    return [LINK.search(m.body).group(1) for m in outbox if address in m.to]


def register(client, email="new@example.com", name="Wang Fang"):
    return client.post(
        "/register",
        data={
            "email": email,
            "display_name": name,
            "password": PASSWORD,
            "confirm": PASSWORD,
            "locale": "en",
        },
    )


def user_of(email):
    return db.session.scalar(sa.select(User).filter_by(email=email))


def test_registration_mails_a_link_and_the_user_confirms_it_with_a_button(client, outbox):
    assert register(client).status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="verify-banner"' in page
    (path,) = verification_links(outbox, "new@example.com")
    assert outbox[-1].subject == "Confirm your email address for Crowdsource"
    # Opening the link shows a button: a mail scanner fetching it confirms nothing.
    assert client.get(path).status_code == 200
    assert user_of("new@example.com").email_verified_at is None
    response = client.post(path, follow_redirects=True)
    assert "your email address is confirmed" in response.get_data(as_text=True)
    assert user_of("new@example.com").email_verified_at is not None
    assert 'data-testid="verify-banner"' not in client.get("/").get_data(as_text=True)
    assert client.get(path).status_code == 404  # used once


def test_an_unverified_user_may_ask_but_not_bid_until_verified(
    client, login, make_user, make_org, make_task, outbox
):
    owner = make_user()
    task = make_task(owner, make_org(owner))
    solver = make_user(verified=False)
    login(solver)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-testid="verify-to-bid"' in page
    assert f'href="/tasks/{task.id}/bid"' not in page
    response = client.post(f"/tasks/{task.id}/questions", data={"body": "Which camera?"})
    assert response.status_code == 302  # asking is fine
    counts = table_counts()
    response = client.get(f"/tasks/{task.id}/bid")
    assert response.status_code == 403 and UNVERIFIED in response.get_data(as_text=True)
    response = client.post(
        f"/tasks/{task.id}/bid",
        data={"price": "10000", "duration_days": "30", "proposal": "We can do it."},
    )
    assert response.status_code == 403 and UNVERIFIED in response.get_data(as_text=True)
    assert table_counts() == counts
    assert not outbox  # made by the builder: nothing mailed yet

    client.post("/account/verification")
    (path,) = verification_links(outbox, solver.email)
    client.post(path)
    assert f'href="/tasks/{task.id}/bid"' in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert client.get(f"/tasks/{task.id}/bid").status_code == 200


def test_an_unverified_member_cannot_publish_a_task(client, login, make_user, make_org, make_task):
    owner = make_user()
    organization = make_org(owner)
    task = make_task(owner, organization, publish=False)
    with transaction():
        owner.email_verified_at = None
    login(owner)
    response = client.post(f"/tasks/{task.id}/publish")
    assert response.status_code == 403 and UNVERIFIED in response.get_data(as_text=True)


def test_an_unverified_user_cannot_be_invited(make_user, make_org):
    owner = make_user()
    organization = make_org(owner)
    newcomer = make_user(name="Li Na", verified=False)
    refused = "Li Na has not confirmed their email address yet"
    with pytest.raises(DomainError, match=refused), transaction():
        orgs.invite_member(owner, organization, newcomer.email)


def test_an_unverified_payee_cannot_ask_to_be_paid(people, award):
    contract = award([100_000])
    (milestone,) = contract.milestones
    fund(milestone, people.owner, people.managers["qingdao"])
    deliver(people.solver, milestone)
    accept(people.owner, milestone)
    with transaction():
        people.solver.email_verified_at = None
    with pytest.raises(NotAllowed, match="Verify your email address first"), transaction():
        payouts.request_payout(people.solver, contract, "payee", *BANK.values())


def test_the_link_can_be_sent_again_a_few_times_an_hour(app, client, login, make_user, outbox):
    user = make_user(verified=False)
    login(user)
    allowed = app.config["ACCOUNT_LINKS_PER_HOUR"]
    for _ in range(allowed):
        response = client.post("/account/verification", follow_redirects=True)
        assert f"We have sent a new link to {user.email}." in response.get_data(as_text=True)
    response = client.post("/account/verification", follow_redirects=True)
    assert "We have sent several links in the last hour" in response.get_data(as_text=True)
    sent = verification_links(outbox, user.email)
    assert len(sent) == allowed
    assert [client.get(path).status_code for path in sent] == [404] * (allowed - 1) + [200]


def test_a_verification_link_expires(app, client, outbox, clock):
    register(client)
    (path,) = verification_links(outbox, "new@example.com")
    clock.advance(hours=app.config["EMAIL_VERIFICATION_HOURS"], minutes=1)
    assert client.post(path).status_code == 404
    assert user_of("new@example.com").email_verified_at is None


def test_a_new_address_replaces_the_old_one_once_its_link_is_opened(
    client, login, make_user, outbox
):
    user = make_user(email="old@example.com")
    login(user)
    response = client.post(
        "/account/email", data={"email": "New@Example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert "new@example.com" in client.get("/account/security").get_data(as_text=True)
    assert user_of("old@example.com") is not None  # kept until the new one is proved
    (path,) = verification_links(outbox, "new@example.com")
    client.post(path)
    assert user_of("old@example.com") is None
    assert user_of("new@example.com").email_verified_at is not None
    client.post("/logout")
    assert (
        client.post("/login", data={"email": "new@example.com", "password": PASSWORD}).status_code
        == 302
    )


@pytest.mark.parametrize(
    "email, password, field, message",
    [
        ("new@example.com", "not my password", "password", "The password is wrong."),
        ("taken@example.com", PASSWORD, "email", "An account with this email already exists."),
        ("Old@example.com", PASSWORD, "email", "This is your address already."),
        ("not an address", PASSWORD, "email", "Enter a valid email address."),
    ],
)
def test_a_refused_change_of_address_says_why_at_its_field_and_keeps_the_input(
    client, login, make_user, outbox, email, password, field, message
):
    make_user(email="taken@example.com")
    login(make_user(email="old@example.com"))
    counts = table_counts()
    response = client.post("/account/email", data={"email": email, "password": password})
    assert response.status_code in (400, 409)
    assert form_errors(response)[field] == [message]
    assert f'value="{email}"' in response.get_data(as_text=True)
    assert table_counts()["account_links"] == counts["account_links"] and not outbox


def test_an_address_taken_meanwhile_is_not_given_to_a_second_account(
    client, login, make_user, outbox
):
    login(make_user(email="old@example.com"))
    client.post("/account/email", data={"email": "wanted@example.com", "password": PASSWORD})
    (path,) = verification_links(outbox, "wanted@example.com")
    make_user(email="wanted@example.com")
    response = client.post(path, follow_redirects=True)
    assert "Another account uses this email address now." in response.get_data(as_text=True)
    assert user_of("old@example.com") is not None
