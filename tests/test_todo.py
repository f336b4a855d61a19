"""The home page of each role (/home): what the user has to do, with links, the count in the
navigation, and nothing of another organization's."""

import re

from crowdsource.accounts import verification
from crowdsource.bids import offers
from crowdsource.contracts.signing import Signer
from crowdsource.db import transaction
from crowdsource.disputes import services as disputes
from crowdsource.payments import funding
from tests.payments.support import accept, deliver, fund


def section(page, name):
    """The items of a section of the page: (text, link) pairs; None if the section is absent."""
    match = re.search(rf'data-testid="todo-{name}".*?</section>', page, re.S)
    if match is None:
        return None
    items = re.findall(
        r'<li data-testid="todo-(?:item|task)"><a href="([^"]+)">([^<]+)</a>', match.group(0)
    )
    return [(text.strip(), link) for link, text in items]


def todo_count(page):
    match = re.search(r'data-testid="todo-count">(\d+)<', page)
    return int(match.group(1)) if match else 0


def home(client, login, user):
    login(user)
    response = client.get("/home")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def offer(member, bid):
    with transaction():
        return offers.offer_bid(Signer(member, "127.0.0.1"), bid)


def test_the_enterprise_sees_bids_offers_payments_and_deliveries_of_its_own_tasks(
    client, login, people, award, make_task, make_bid
):
    reviewed = make_task(people.owner, people.enterprise, title="Weld seam tracking")
    make_bid(people.solver, reviewed)
    make_bid(people.broker, reviewed, agency=people.agency)
    offered_task = make_task(people.owner, people.enterprise, title="Glass inspection")
    offered = offer(people.owner, make_bid(people.solver, offered_task))
    unpaid = award(title="Paint line robot")
    delivered = award(title="Sorting cell")
    fund(delivered.milestones[0], people.owner, people.managers["qingdao"])
    deliver(people.solver, delivered.milestones[0])
    zibo_task = make_task(people.zibo_owner, people.zibo_enterprise, title="Kiln control")
    make_bid(people.solver, zibo_task)
    award(zibo=True, title="Zibo glaze mixing")

    page = home(client, login, people.owner)

    bids = section(page, "bids")
    assert sorted(text for text, _ in bids) == ["Weld seam tracking", "Weld seam tracking"]
    assert all(link.startswith("/bids/") for _, link in bids)
    assert section(page, "offers-waiting") == [("Glass inspection", f"/offers/{offered.id}")]
    first = unpaid.milestones[0]
    assert section(page, "payments") == [
        (f"{unpaid.number} · {first.title}", f"/contracts/{unpaid.id}#money")
    ]
    assert "pay by" in page and "payment due" in page
    assert section(page, "accept") == [
        (f"{delivered.number} · {delivered.milestones[0].title}", f"/contracts/{delivered.id}")
    ]
    assert "released automatically on" in page
    assert todo_count(page) == 5
    assert "Kiln control" not in page and "Zibo glaze mixing" not in page
    assert section(page, "transfers") is None  # not a manager
    assert section(page, "new-tasks") is None  # nor a solver


def test_the_zibo_enterprise_sees_none_of_the_laoshan_enterprises_items(
    client, login, people, award, make_task, make_bid
):
    make_bid(people.solver, make_task(people.owner, people.enterprise, title="Weld seam"))
    award(title="Paint line robot")

    page = home(client, login, people.zibo_owner)

    for name in ("bids", "offers-waiting", "payments", "accept"):
        assert section(page, name) == [], name
    assert "Weld seam" not in page and "Paint line robot" not in page
    assert "No new bids to review." in page
    assert todo_count(page) == 0


def test_the_solver_sees_offers_to_sign_deliveries_due_payouts_and_matching_tasks(
    client, login, people, award, make_task, make_bid
):
    with transaction():
        people.solver.skills = ["Machine Vision"]
    offered_task = make_task(people.owner, people.enterprise, title="Glass inspection")
    offered = offer(people.owner, make_bid(people.solver, offered_task))
    working = award(title="Paint line robot")
    fund(working.milestones[0], people.owner, people.managers["qingdao"])
    paid = award(title="Sorting cell")
    fund(paid.milestones[0], people.owner, people.managers["qingdao"])
    deliver(people.solver, paid.milestones[0])
    accept(people.owner, paid.milestones[0])
    make_task(
        people.zibo_owner, people.zibo_enterprise, title="Kiln vision", skills=["machine vision"]
    )
    make_task(people.zibo_owner, people.zibo_enterprise, title="Kiln accounting", skills=["ERP"])
    agency_work = award(brokerage_bps=1000, title="Agency contract")
    fund(agency_work.milestones[0], people.owner, people.managers["qingdao"])

    page = home(client, login, people.solver)

    assert section(page, "offers-to-sign") == [("Glass inspection", f"/offers/{offered.id}")]
    assert section(page, "deliveries-due") == [
        (f"{working.number} · {working.milestones[0].title}", f"/contracts/{working.id}")
    ]
    assert section(page, "payouts") == [(paid.number, "/earnings")]
    assert ("Kiln vision", "/tasks/" + str(_task_id(page, "Kiln vision"))) in section(
        page, "new-tasks"
    )
    assert "Kiln accounting" not in page
    assert "New tasks for your skills and searches" in page
    assert todo_count(page) == 2
    assert section(page, "bids") is None  # no enterprise
    assert "Agency contract" not in page


def test_a_saved_search_finds_new_tasks_for_a_solver_without_skills(
    client, login, people, make_task
):
    make_task(people.zibo_owner, people.zibo_enterprise, title="Glaze robot", skills=["ERP"])
    make_task(people.zibo_owner, people.zibo_enterprise, title="Kiln sensors", skills=["ERP"])
    login(people.solver)
    assert client.get("/home").get_data(as_text=True).count('data-testid="todo-task"') == 2
    client.post("/searches", data={"q": "glaze"})

    page = home(client, login, people.solver)

    assert [text for text, _ in section(page, "new-tasks")] == ["Glaze robot"]


def _task_id(page, title):
    return int(re.search(rf'href="/tasks/(\d+)">{title}<', page).group(1))


def test_an_agency_member_sees_the_agencys_deliveries_and_offers(
    client, login, people, award, make_task, make_bid, add_member, make_user
):
    colleague = make_user(name="Colleague")
    add_member(colleague, people.agency)
    agency_work = award(brokerage_bps=1000, title="Agency contract")
    fund(agency_work.milestones[0], people.owner, people.managers["qingdao"])
    task = make_task(people.owner, people.enterprise, title="Glass inspection")
    offered = offer(
        people.owner,
        make_bid(people.broker, task, agency=people.agency, payee_organization=people.institute),
    )
    award(title="Solver contract")

    for member in (people.broker, colleague):
        page = home(client, login, member)
        assert section(page, "deliveries-due") == [
            (
                f"{agency_work.number} · {agency_work.milestones[0].title}",
                f"/contracts/{agency_work.id}",
            )
        ]
        assert section(page, "offers-to-sign") == [("Glass inspection", f"/offers/{offered.id}")]
        assert todo_count(page) == 2
        assert "Solver contract" not in page

    page = home(client, login, people.outsider)
    assert section(page, "deliveries-due") == [] and section(page, "offers-to-sign") == []
    assert todo_count(page) == 0


def test_a_manager_sees_transfers_and_disputes_of_their_centers_only(client, login, people, case):
    with transaction():
        funding.start_funding(people.owner, case.second)
        disputes.open_dispute(people.owner, case.milestone.id, "The result does not work.")
    number = case.contract.number

    page = home(client, login, people.managers["qingdao"])
    assert section(page, "transfers") == [(f"{number} · {case.second.title}", "/manage/payments")]
    cases = section(page, "disputes")
    assert len(cases) == 1 and cases[0][0] == f"{number} · {case.milestone.title}"
    assert cases[0][1].startswith("/disputes/")
    assert section(page, "verifications") == []
    assert section(page, "jobs") is None  # the admin's
    assert "response due" in page
    assert section(page, "new-tasks") is None  # a manager who bids for nothing
    assert todo_count(page) == 2

    page = home(client, login, people.managers["zibo"])
    assert section(page, "transfers") == [] and section(page, "disputes") == []
    assert number not in page
    assert todo_count(page) == 0


def test_a_manager_sees_the_verification_requests_of_their_centers(
    client, login, people, make_user
):
    applicant = make_user(name="Zhao Min", real_name_verified=False)
    with transaction():
        verification.apply_as_person(
            applicant, "赵敏", "11010519491231002X", people.centers["qingdao"].id
        )

    page = home(client, login, people.managers["qingdao"])
    requests = section(page, "verifications")
    assert len(requests) == 1 and requests[0][1].startswith("/verifications/")
    assert todo_count(page) == 1

    page = home(client, login, people.managers["zibo"])
    assert section(page, "verifications") == [] and todo_count(page) == 0


def test_a_manager_who_is_also_of_the_enterprise_sees_both_but_not_their_own_partys_case(
    client, login, people, case, add_member
):
    manager = people.managers["qingdao"]
    add_member(manager, people.enterprise)
    with transaction():
        funding.start_funding(people.owner, case.second)
        disputes.open_dispute(people.owner, case.milestone.id, "The result does not work.")

    page = home(client, login, manager)

    # as the enterprise's member: the transfer is also reported on its side as a payment
    # not yet due (the first milestone is not settled), so only the managers' queue lists it
    assert section(page, "transfers") == [
        (f"{case.contract.number} · {case.second.title}", "/manage/payments")
    ]
    assert section(page, "disputes") == []  # a party cannot hear the case
    assert section(page, "bids") == [] and section(page, "accept") == []
    assert todo_count(page) == 1


def test_the_admin_sees_the_consoles_queues(client, login, people, case):
    with transaction():
        funding.start_funding(people.owner, case.second)

    page = home(client, login, people.admin)

    assert section(page, "transfers") == [
        (f"{case.contract.number} · {case.second.title}", "/manage/payments")
    ]
    assert 'data-testid="todo-jobs"' in page and "/admin/jobs" in page
    assert section(page, "payouts-to-send") == []
    assert section(page, "disputes") == [] and section(page, "verifications") == []
    assert todo_count(page) == 1


def test_visitors_keep_the_public_home_and_are_sent_to_log_in_for_home(client):
    assert client.get("/").status_code == 200
    response = client.get("/home")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
