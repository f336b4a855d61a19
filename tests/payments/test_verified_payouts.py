"""Only verified payees (实名认证) are paid out: a payout request for an unverified person or
organization is refused with a clear message, and so is the manager's recording of a transfer
to a payee whose verification was revoked meanwhile; money stays in the payable, nothing is
posted. REQUIRE_REAL_NAME_VERIFICATION=0 relaxes both."""

import pytest
import sqlalchemy as sa

from crowdsource.accounts import verification
from crowdsource.db import db, transaction
from crowdsource.errors import NotAllowed
from crowdsource.payments import payouts
from crowdsource.payments.models import Payout, PayoutStatus
from tests.payments.support import BANK, accept, balances, deliver, entry_count, fund, texts

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")

PERSON_REFUSAL = (
    "Only verified payees are paid out, and Chen Jie has not verified their real name yet: they "
    "apply with their legal name and resident ID number under Real-name verification."
)
ORGANIZATION_REFUSAL = (
    "Only verified payees are paid out, and Qingdao University of Science is not verified yet: an "
    "owner applies with its business licence on the organization"
)


def released(people, contract, worker):
    """The contract's first milestone funded, delivered by ``worker`` and accepted."""
    first = contract.milestones[0]
    fund(first, people.owner, people.managers["qingdao"])
    deliver(worker, first)
    accept(people.owner, first)
    return first


def revoke(people, subject):
    with transaction():
        verification.revoke(people.admin, verification.latest_of(subject), "Documents withdrawn.")


@pytest.fixture
def unverified_solver(make_user):
    return make_user(name="Chen Jie", email="chen.jie@example.com", real_name_verified=False)


def payout_rows():
    return db.session.scalars(sa.select(Payout)).all()


def test_an_unverified_person_cannot_request_a_payout(
    client, login, people, award, unverified_solver
):
    contract = award([300_000], bidder=unverified_solver)
    released(people, contract, unverified_solver)
    login(unverified_solver)
    earnings = client.get("/earnings")
    assert texts(earnings, "payout-refusal") == [PERSON_REFUSAL]
    assert 'data-testid="payout-request"' not in earnings.text
    money = balances()

    response = client.post(f"/contracts/{contract.id}/payouts/payee", data=BANK)
    assert response.status_code == 403 and PERSON_REFUSAL in response.text
    with pytest.raises(NotAllowed, match="Only verified payees are paid out"), transaction():
        payouts.request_payout(unverified_solver, contract, "payee", **BANK)
    assert payout_rows() == [] and balances() == money


def test_an_unverified_payee_organization_cannot_request_a_payout(client, login, people, award):
    contract = award([300_000], brokerage_bps=1000)
    released(people, contract, people.broker)
    revoke(people, people.institute)
    login(people.professor)
    response = client.post(f"/contracts/{contract.id}/payouts/payee", data=BANK)
    assert response.status_code == 403 and ORGANIZATION_REFUSAL in response.text
    # the agency is verified: its brokerage is paid out
    login(people.broker)
    assert client.post(f"/contracts/{contract.id}/payouts/agency", data=BANK).status_code == 302
    assert [payouts.payout_role(p) for p in payout_rows()] == ["agency"]


def test_a_payee_revoked_after_the_request_is_not_sent_the_transfer(client, login, people, award):
    contract = award([300_000])
    released(people, contract, people.solver)
    login(people.solver)
    assert client.post(f"/contracts/{contract.id}/payouts/payee", data=BANK).status_code == 302
    (payout,) = payout_rows()
    revoke(people, people.solver)
    entries, money = entry_count(), balances()

    manager = people.managers["qingdao"]
    login(manager)
    manage = client.get("/manage/payments")
    (refusal,) = texts(manage, "send-refusal")
    assert refusal.startswith("Only verified payees are paid out, and Zhao Lei has not verified")
    response = client.post(f"/payouts/{payout.id}/send", data={"bank_reference": "OUT-0001"})
    assert response.status_code == 403
    assert "Only verified payees are paid out, and Zhao Lei" in response.text
    db.session.refresh(payout)
    assert payout.status == PayoutStatus.REQUESTED
    assert (entry_count(), balances()) == (entries, money)


def test_the_platform_may_relax_the_rule_for_requests_and_transfers(
    app, client, login, people, award, unverified_solver, monkeypatch
):
    contract = award([300_000], bidder=unverified_solver)
    released(people, contract, unverified_solver)
    monkeypatch.setitem(app.config, "REQUIRE_REAL_NAME_VERIFICATION", False)
    login(unverified_solver)
    assert texts(client.get("/earnings"), "payout-refusal") == []
    assert client.post(f"/contracts/{contract.id}/payouts/payee", data=BANK).status_code == 302
    (payout,) = payout_rows()
    login(people.managers["qingdao"])
    response = client.post(f"/payouts/{payout.id}/send", data={"bank_reference": "OUT-0002"})
    assert response.status_code == 302
    db.session.refresh(payout)
    assert payout.status == PayoutStatus.SENT


def test_the_contract_page_badges_the_verified_parties(client, login, people, award):
    contract = award([300_000], brokerage_bps=1000)
    revoke(people, people.institute)
    login(people.owner)
    page = client.get(f"/contracts/{contract.id}").text
    enterprise = page.split("Haian Robotics", 1)[1].split("</dd>", 1)[0]
    payee = page.split('data-testid="payee"', 1)[1].split("</dd>", 1)[0]
    assert 'data-testid="verified-badge"' in enterprise
    assert "Qingdao University of Science" in payee and "verified-badge" not in payee
