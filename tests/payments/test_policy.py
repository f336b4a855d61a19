"""Commission policy: the built-in 5 %, the platform default the admin sets, a center's
overrides (for its subtree, optionally per contract type) set by its managers, copied onto a
contract at the award for good; and the brokerage cap that limits bids."""

import pytest
import sqlalchemy as sa

from crowdsource.bids import services as bid_services
from crowdsource.contracts.models import Contract
from crowdsource.db import db, transaction
from crowdsource.errors import DomainError, NotAllowed
from crowdsource.payments import ledger, policy
from crowdsource.payments.models import CommissionPolicy
from tests.bids.support import bid_form, bids_of
from tests.helpers import form_errors
from tests.payments.support import accept, deliver, fund, page, parse, stored_counts

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")


def policy_form(center="", contract_type="", commission="5", client_fee="", share="", cap="30"):
    return {
        "center_id": str(center.id) if center else "",
        "contract_type": contract_type,
        "commission": commission,
        "client_fee": client_fee,
        "center_share": share,
        "max_brokerage": cap,
    }


def rates_of(contract):
    return (contract.commission_bps, contract.client_fee_bps, contract.center_share_bps)


def policy_rows(client):
    """The policies page's table: (applies to, type, commission, fee, share, cap) per row."""
    table = parse(client.get("/manage/policies")).find_all("table")[0]
    return [tuple(row.cells()[:6]) for row in table.find_all("tbody")[0].find_all("tr")]


def test_without_any_policy_contracts_pay_the_builtin_five_percent(client, login, people, award):
    contract = award([100_000])
    assert rates_of(contract) == (500, 0, 0)
    fund(contract.milestones[0], people.owner, people.managers["qingdao"])
    deliver(people.solver, contract.milestones[0])
    accept(people.owner, contract.milestones[0])
    assert ledger.balance("revenue:commission") == 5_000
    assert ledger.balance(f"payable:contract:{contract.id}:payee") == 95_000
    login(people.admin)
    assert policy_rows(client) == [
        ("The whole platform (built-in default)", "All types", "5%", "0%", "0%", "30%")
    ]


def test_the_admin_sets_the_platform_default(client, login, people, award):
    login(people.admin)
    # A platform policy for one contract type leaves the built-in default for the others.
    response = client.post(
        "/manage/policies", data=policy_form(contract_type="transfer", commission="8")
    )
    assert response.status_code == 302
    assert policy_rows(client) == [
        ("The whole platform (built-in default)", "All types", "5%", "0%", "0%", "30%"),
        ("The whole platform (default)", "Technology transfer", "8%", "0%", "0%", "30%"),
    ]
    assert rates_of(award([100_000], contract_type="transfer")) == (800, 0, 0)
    with transaction():
        db.session.execute(sa.delete(CommissionPolicy))

    response = client.post(
        "/manage/policies", data=policy_form(commission="6", client_fee="1", share="0.5", cap="25")
    )
    assert response.status_code == 302
    assert policy_rows(client) == [
        ("The whole platform (default)", "All types", "6%", "1%", "0.5%", "25%")
    ]
    assert rates_of(award([100_000])) == (600, 100, 50)
    assert rates_of(award([100_000], zibo=True)) == (600, 100, 50)

    # Changed again: the same row, new contracts get the new rates.
    client.post("/manage/policies", data=policy_form(commission="7"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CommissionPolicy)) == 1
    assert rates_of(award([100_000])) == (700, 0, 0)


def test_a_manager_cannot_set_the_platform_default(client, login, people):
    login(people.managers["shandong"])
    before = stored_counts()
    response = client.post("/manage/policies", data=policy_form(commission="1"))
    assert response.status_code in (400, 403)
    assert stored_counts() == before
    with pytest.raises(NotAllowed), transaction():
        policy.set_policy(people.managers["shandong"], None, None, 100, 0, 0, 3000)
    for user in (people.owner, people.solver, people.outsider):
        login(user)
        assert client.get("/manage/policies").status_code == 403
        assert client.post("/manage/policies", data=policy_form(commission="1")).status_code == 403
    assert stored_counts() == before


def test_a_qingdao_override_applies_in_laoshan_but_not_in_zibo(client, login, people, award):
    qingdao = people.centers["qingdao"]
    with transaction():
        policy.set_policy(people.admin, None, None, 600, 0, 0, 3000)
    login(people.managers["qingdao"])
    for data in (
        policy_form(qingdao, commission="4", share="1"),
        policy_form(qingdao, contract_type="consulting", commission="3", cap="10"),
    ):
        assert client.post("/manage/policies", data=data).status_code == 302
    rows = policy_rows(client)
    assert ("Qingdao", "All types", "4%", "0%", "1%", "30%") in rows
    assert ("Qingdao", "Technology consulting", "3%", "0%", "0%", "10%") in rows
    # The manager also sees the platform default that applies above their override.
    assert ("The whole platform (default)", "All types", "6%", "0%", "0%", "30%") in rows

    assert rates_of(award([100_000])) == (400, 0, 100)
    assert rates_of(award([100_000], contract_type="consulting")) == (300, 0, 0)
    assert rates_of(award([100_000], zibo=True)) == (600, 0, 0)
    assert rates_of(award([100_000], zibo=True, contract_type="consulting")) == (600, 0, 0)

    login(people.managers["zibo"])
    assert not any(row[0] == "Qingdao" for row in policy_rows(client))


def test_a_zibo_manager_cannot_set_or_remove_qingdaos_policy(client, login, people):
    qingdao = people.centers["qingdao"]
    with transaction():
        override = policy.set_policy(people.managers["qingdao"], qingdao, None, 400, 0, 0, 3000)
    login(people.managers["zibo"])
    before = stored_counts()
    response = client.post("/manage/policies", data=policy_form(qingdao, commission="1"))
    assert response.status_code == 403
    assert client.post(f"/manage/policies/{override.id}/remove").status_code == 403
    assert stored_counts() == before
    assert db.session.get(CommissionPolicy, override.id).commission_bps == 400
    with pytest.raises(NotAllowed), transaction():
        policy.set_policy(people.managers["zibo"], qingdao, None, 100, 0, 0, 3000)
    # The Zibo manager does set Zibo's.
    response = client.post(
        "/manage/policies", data=policy_form(people.centers["zibo"], commission="2")
    )
    assert response.status_code == 302


def test_a_contract_keeps_the_policy_in_force_at_its_award(client, login, people, award):
    qingdao = people.centers["qingdao"]
    manager = people.managers["qingdao"]
    with transaction():
        override = policy.set_policy(manager, qingdao, None, 400, 100, 0, 3000)
    contract = award([100_000, 200_000])
    first, second = contract.milestones
    fund(first, people.owner, manager)  # 101,000 with the 1 % fee

    # The policy changes, then the override goes: the signed contract settles by its copy.
    login(manager)
    response = client.post("/manage/policies", data=policy_form(qingdao, commission="10"))
    assert response.status_code == 302
    override_id = override.id
    assert client.post(f"/manage/policies/{override_id}/remove").status_code == 302
    db.session.expire_all()
    assert db.session.get(CommissionPolicy, override_id) is None
    assert rates_of(award([100_000], bidder=people.broker)) == (500, 0, 0)

    deliver(people.solver, first)
    accept(people.owner, first)
    fund(second, people.owner, manager)
    deliver(people.solver, second)
    accept(people.owner, second)
    contract = db.session.get(Contract, contract.id)
    assert rates_of(contract) == (400, 100, 0)
    assert ledger.balance("revenue:commission") == 4_000 + 8_000
    assert ledger.balance("revenue:client-fee") == 1_000 + 2_000
    assert ledger.balance(f"payable:contract:{contract.id}:payee") == 96_000 + 192_000
    login(people.owner)
    assert "Platform commission (4% of each released amount)" in page(
        client.get(f"/contracts/{contract.id}")
    )


def test_the_platform_default_cannot_be_removed(client, login, people):
    with transaction():
        default = policy.set_policy(people.admin, None, None, 600, 0, 0, 3000)
    login(people.admin)
    response = client.post(f"/manage/policies/{default.id}/remove")
    assert response.status_code == 400
    assert "The platform default cannot be removed, only changed." in page(response)
    assert db.session.get(CommissionPolicy, default.id) is not None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"commission": "60"}, "Each rate is between 0 % and 50 %."),
        ({"commission": "50", "share": "50", "cap": "10"}, "together exceed 100 %"),
        ({"commission": "-1"}, "A percentage is between 0 and 100."),
    ],
)
def test_impossible_rates_are_refused_with_a_message(client, login, people, fields, message):
    login(people.admin)
    before = stored_counts()
    response = client.post("/manage/policies", data=policy_form(**fields))
    assert response.status_code == 400
    assert any(message in error for error in form_errors(response)["commission"])
    assert stored_counts() == before


def agency_bid(client, task, people, brokerage):
    return client.post(
        f"/tasks/{task.id}/bid",
        data=bid_form(
            bid_as=str(people.agency.id),
            payee_organization_id=str(people.institute.id),
            brokerage=brokerage,
        ),
    )


def test_the_brokerage_cap_of_the_tasks_policy_limits_bids(client, login, people, make_task, award):
    qingdao = people.centers["qingdao"]
    with transaction():
        policy.set_policy(people.managers["qingdao"], qingdao, None, 500, 0, 0, 2000)
        policy.set_policy(people.managers["qingdao"], qingdao, "consulting", 500, 0, 0, 1000)
    laoshan_task = make_task(people.owner, people.enterprise)
    consulting_task = make_task(people.owner, people.enterprise, contract_type="consulting")
    zibo_task = make_task(people.zibo_owner, people.zibo_enterprise)

    login(people.broker)
    before = stored_counts()
    response = agency_bid(client, laoshan_task, people, "25")
    assert response.status_code == 400
    assert form_errors(response)["brokerage"] == ["The brokerage rate may be at most 20%."]
    response = agency_bid(client, consulting_task, people, "15")
    assert form_errors(response)["brokerage"] == ["The brokerage rate may be at most 10%."]
    assert stored_counts() == before

    assert agency_bid(client, laoshan_task, people, "20").status_code == 302
    assert agency_bid(client, zibo_task, people, "25").status_code == 302  # the built-in 30 %
    assert [bid.brokerage_bps for bid in bids_of(laoshan_task)] == [2000]
    assert [bid.brokerage_bps for bid in bids_of(zibo_task)] == [2500]

    # The service refuses it too, whoever calls it.
    with pytest.raises(DomainError, match="at most 10%"), transaction():
        bid_services.place_bid(
            people.broker,
            consulting_task,
            bid_services.BidDetails(
                price_fen=100_000,
                duration_days=30,
                proposal="Cheap",
                milestones=[
                    bid_services.ProposedMilestone("All", 100_000, laoshan_task.delivery_date)
                ],
                agency=people.agency,
                payee_organization=people.institute,
                brokerage_bps=1001,
            ),
        )
    assert bids_of(consulting_task) == []
