"""The market in one story, through the pages: post, publish, ask, bid, answer, end, award."""

import sqlalchemy as sa

from crowdsource.contracts.models import Contract
from crowdsource.notifications.models import Notification


def test_post_bid_award_through_the_pages(client, db, make_user, make_org, login, centers, outbox):
    owner = make_user(name="Li Wei")
    enterprise = make_org(owner, name="Haian Robotics")
    solver = make_user(name="Zhao Lei")
    other = make_user(name="Wang Fang")
    login(owner)
    response = client.post(
        "/tasks/new",
        data={
            "organization_id": enterprise.id,
            "title": "视觉检测系统 for PCB",
            "summary": "Find solder defects.",
            "description": "Details <script>alert(1)</script>",
            "contract_type": "development",
            "fields": "智能制造",
            "skills": "machine vision, PLC",
            "budget_min": "50,000",
            "budget_max": "80000.50",
            "bid_deadline": "2099-01-01T12:00",
            "delivery_date": "2099-03-01",
            "center_id": centers["qingdao"].id,
            "visibility": "public",
            "bid_mode": "open",
            "ip_terms": "assigned",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    task_url = response.headers["Location"]
    task_id = int(task_url.rsplit("/", 1)[1])
    assert client.post(f"/tasks/{task_id}/publish").status_code == 302
    page = client.get(task_url).get_data(as_text=True)
    assert "<script>alert" not in page and "¥50,000.00" in page

    login(solver)
    assert "视觉检测系统" in client.get("/tasks?q=检测").get_data(as_text=True)
    assert (
        client.post(f"/tasks/{task_id}/questions", data={"body": "Which camera?"}).status_code
        == 302
    )
    bid = {
        "bid_as": "",
        "payee_organization_id": "",
        "brokerage": "",
        "price": "60000",
        "duration_days": "40",
        "proposal": "We can.",
        "milestones-0-title": "Prototype",
        "milestones-0-amount": "20000",
        "milestones-0-due_date": "2099-02-01",
        "milestones-1-title": "Delivery",
        "milestones-1-amount": "40000",
        "milestones-1-due_date": "2099-03-01",
    }
    response = client.post(f"/tasks/{task_id}/bid", data=bid)
    assert response.status_code == 302, response.get_data(as_text=True)
    login(other)
    response = client.post(
        f"/tasks/{task_id}/bid", data={**bid, "price": "70000", "milestones-1-amount": "50000"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "¥60,000.00" in client.get(task_url).get_data(as_text=True)  # open mode: prices

    login(owner)
    question = client.get(task_url).get_data(as_text=True)
    assert "Which camera?" in question
    from crowdsource.tasks.models import Question

    q = db.session.scalar(sa.select(Question))
    assert client.post(f"/questions/{q.id}/answer", data={"answer": "Basler."}).status_code == 302
    assert client.get(f"/tasks/{task_id}/bids").status_code == 200
    assert client.post(f"/tasks/{task_id}/close").status_code == 302
    from crowdsource.bids.models import Bid

    winning = db.session.scalar(sa.select(Bid).filter_by(bidder_id=solver.id))
    response = client.post(f"/bids/{winning.id}/award")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert db.session.scalar(sa.select(Contract)) is None  # until the winner signs
    login(solver)
    response = client.post(response.headers["Location"] + "/accept")
    assert response.status_code == 302, response.get_data(as_text=True)
    login(owner)
    contract = db.session.scalar(sa.select(Contract))
    assert contract.number.startswith("CS-") and contract.price_fen == 6_000_000
    assert [m.amount_fen for m in contract.milestones] == [2_000_000, 4_000_000]
    assert client.get(f"/contracts/{contract.id}").status_code == 200
    kinds = {n.kind for n in db.session.scalars(sa.select(Notification))}
    assert {
        "question_asked",
        "question_answered",
        "bid_submitted",
        "bidding_closed",
        "bid_awarded",
        "bid_rejected",
    } <= set(kinds)
    assert any("Basler" in m.body for m in outbox)
    login(other)
    assert "not selected" in client.get("/bids/mine").get_data(as_text=True)
    assert client.get(f"/bids/{winning.id}").status_code == 404
    assert client.get("/notifications").status_code == 200
