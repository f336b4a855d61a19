"""A first worked story through the pages and services: fund, deliver, accept, pay out."""

import datetime as dt

import sqlalchemy as sa

from crowdsource.accounts import centers as center_services
from crowdsource.bids import offers
from crowdsource.contracts import workflow
from crowdsource.db import transaction, utcnow
from crowdsource.payments import ledger, policy, reconcile
from crowdsource.payments.models import Funding
from crowdsource.sweep import sweep_due


def test_fund_release_payout_with_fees(
    app, client, db, make_user, make_org, make_task, make_bid, login, centers
):
    owner = make_user(name="Li Wei")
    enterprise = make_org(owner)
    admin = make_user(is_admin=True)
    with transaction():
        policy.set_policy(admin, None, None, 500, 100, 0, 3000)
    broker = make_user(name="Sun Mei")
    agency = make_org(broker, name="Agency", kind="agency", ownership="private")
    professor = make_user()
    institute = make_org(professor, name="Institute", kind="institution", ownership="university")
    manager = make_user(name="Wang")
    with transaction():
        center_services.make_manager(manager, centers["qingdao"])
    task = make_task(owner, enterprise)
    bid = make_bid(
        broker,
        task,
        price_fen=1_000_000,
        agency=agency,
        payee_organization=institute,
        brokerage_bps=1500,
    )
    with transaction():
        from crowdsource.tasks import services as tasks

        tasks.close_bidding(owner, task)
        contract = offers.sign_both(owner, bid)
    assert (contract.commission_bps, contract.client_fee_bps) == (500, 100)
    first, second = contract.milestones

    login(owner)
    response = client.post(f"/milestones/{first.id}/fund")
    assert response.status_code == 302
    funding = db.session.scalar(sa.select(Funding))
    assert funding.amount_fen == 505_000  # 500,000 + 1 % client fee
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "¥5,050.00" in page

    login(manager)
    page = client.get("/manage/payments").get_data(as_text=True)
    assert funding.reference in page
    wrong = client.post(
        f"/fundings/{funding.id}/confirm", data={"amount": "5000", "bank_reference": "ICBC-1"}
    )
    assert wrong.status_code == 400 and ledger.balance(f"escrow:milestone:{first.id}") == 0
    ok = client.post(
        f"/fundings/{funding.id}/confirm", data={"amount": "5050", "bank_reference": "ICBC-1"}
    )
    assert ok.status_code == 302
    again = client.post(
        f"/fundings/{funding.id}/confirm", data={"amount": "5050", "bank_reference": "ICBC-1"}
    )
    assert again.status_code == 409
    assert ledger.balance(f"escrow:milestone:{first.id}") == 505_000

    login(broker)
    assert (
        client.post(f"/milestones/{first.id}/deliver", data={"note": "Prototype"}).status_code
        == 302
    )
    login(owner)
    assert client.post(f"/milestones/{first.id}/accept").status_code == 302
    assert client.post(f"/milestones/{first.id}/accept").status_code == 409
    # 500,000 gross: 5 % commission 25,000; 15 % brokerage 75,000; payee 400,000; fee 5,000.
    assert ledger.balance(f"payable:contract:{contract.id}:payee") == 400_000
    assert ledger.balance(f"payable:contract:{contract.id}:agency") == 75_000
    assert ledger.balance("revenue:commission") == 25_000
    assert ledger.balance("revenue:client-fee") == 5_000
    assert ledger.balance(f"escrow:milestone:{first.id}") == 0
    assert reconcile.everything() == []

    # The second milestone is funded, delivered and released automatically 14 days later.
    with transaction():
        from crowdsource.payments import funding as fundings

        started = fundings.start_funding(owner, second)
        fundings.confirm_bank_transfer(manager, started, 505_000, "ICBC-2")
        workflow.submit_delivery(broker, second.id, "Final report")
    sweep_due(utcnow() + dt.timedelta(days=15))
    db.session.expire_all()
    assert str(second.status) == "released" and str(contract.status) == "completed"

    login(professor)
    response = client.post(
        f"/contracts/{contract.id}/payouts/payee",
        data={
            "bank_account_name": "Institute",
            "bank_name": "BOC",
            "bank_account_number": "6217000011112222",
        },
    )
    assert response.status_code == 302
    login(manager)
    from crowdsource.payments.models import Payout

    payout = db.session.scalar(sa.select(Payout))
    assert payout.amount_fen == 800_000
    assert (
        client.post(f"/payouts/{payout.id}/send", data={"bank_reference": "OUT-1"}).status_code
        == 302
    )
    assert ledger.balance(f"payable:contract:{contract.id}:payee") == 0
    assert ledger.balance("clearing:bank") == -1_010_000 + 800_000
    assert reconcile.everything() == []
    assert client.get(f"/contracts/{contract.id}").status_code == 200
    assert client.get(f"/contracts/{contract.id}/statement.csv").status_code == 200
    login(professor)
    assert "¥8,000.00" in client.get("/earnings").get_data(as_text=True)
