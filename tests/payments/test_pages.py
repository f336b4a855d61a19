"""What the money pages and CSV files show: the contract's escrow per milestone and its fee
split, the funded badge, the funding instructions, a payee's earnings, statements, and the
platform's revenue."""

import zoneinfo

import pytest
import sqlalchemy as sa

from crowdsource.contracts import workflow
from crowdsource.db import db, transaction, utcnow
from crowdsource.payments import ledger, payouts, policy
from crowdsource.payments.models import Funding, LedgerAccount
from tests.payments.support import (
    BANK,
    accept,
    deliver,
    fen,
    fund,
    page,
    parse,
    read_csv,
    texts,
)

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")

# 123,456 fen is ¥1,234.56. With 5 % commission, 1 % client fee, 2 % center share and 15 %
# brokerage it is funded with 124,691 (fee 1,234.56 → 1,235) and released as commission
# 6,173 (6,172.8), brokerage 18,518 (18,518.4), center share 2,469 (2,469.12) and 96,296 to
# the university.
FIRST, SECOND, THIRD = 123_456, 200_000, 300_000


@pytest.fixture
def contract(people, award):
    """A brokered contract of three milestones under fees: the first released, the second in
    escrow, the third not funded."""
    with transaction():
        policy.set_policy(people.admin, None, None, 500, 100, 200, 3000)
    contract = award([FIRST, SECOND, THIRD], brokerage_bps=1500)
    first, second, _ = contract.milestones
    fund(first, people.owner, people.managers["qingdao"])
    deliver(people.broker, first)
    accept(people.owner, first)
    fund(second, people.owner, people.managers["qingdao"])
    return contract


def milestone_rows(response):
    """Per milestone row of the contract page: (amount, due, in escrow, released, refunded,
    status); and the total row's (amount, due, in escrow, released, refunded)."""
    tree = parse(response)
    rows = [tuple(row.cells()[2:8]) for row in tree.find_all(testid="contract-milestone")]
    total = tree.find_all("tfoot")[0].find_all("tr")[0].cells()[2:7]
    return rows, tuple(total)


def test_the_contract_page_shows_each_milestones_escrow_and_the_fee_split(
    client, login, people, contract
):
    login(people.owner)
    response = client.get(f"/contracts/{contract.id}")
    rows, total = milestone_rows(response)
    assert rows == [
        ("¥1,234.56", "¥1,246.91", "¥0.00", "¥1,246.91", "¥0.00", "released"),
        ("¥2,000.00", "¥2,020.00", "¥2,020.00", "¥0.00", "¥0.00", "funded"),
        ("¥3,000.00", "¥3,030.00", "¥0.00", "¥0.00", "¥0.00", "awaiting funding"),
    ]
    assert total == ("¥6,234.56", "¥6,296.91", "¥2,020.00", "¥1,246.91", "¥0.00")
    # The split of the price at the contract's rates (6,234.56 in all).
    fees = [row.cells() for row in parse(response).find_all(testid="fees")[0].find_all("tr")]
    assert fees == [
        ["Platform commission (5% of each released amount)", "¥311.73"],
        ["Agency brokerage (15%)", "¥935.18"],
        ["Center share (2%)", "¥124.69"],
        ["To the payee", "¥4,862.96"],
        ["Client-side fee paid by the enterprise on top (1%)", "¥62.35"],
    ]
    assert (
        "Of the released money: ¥962.96 to the payee, ¥185.18 agency brokerage, ¥61.73 platform "
        "commission, ¥12.35 client fee, ¥24.69 center share." in page(response)
    )

    # Cancelled by both sides: the escrow is refunded, the released money stays paid.
    with transaction():
        workflow.request_cancellation(people.broker, contract, "The line was sold.")
    with transaction():
        workflow.confirm_cancellation(people.owner, contract)
    rows, total = milestone_rows(client.get(f"/contracts/{contract.id}"))
    assert rows == [
        ("¥1,234.56", "¥1,246.91", "¥0.00", "¥1,246.91", "¥0.00", "released"),
        ("¥2,000.00", "¥2,020.00", "¥0.00", "¥0.00", "¥2,020.00", "refunded"),
        ("¥3,000.00", "¥3,030.00", "¥0.00", "¥0.00", "¥0.00", "cancelled before funding"),
    ]
    assert total == ("¥6,234.56", "¥6,296.91", "¥0.00", "¥1,246.91", "¥2,020.00")


def test_the_task_page_shows_the_funded_badge_once_the_first_milestone_is_funded(
    client, login, people, award
):
    contract = award([100_000, 200_000])
    url = f"/tasks/{contract.task_id}"
    for user in (people.owner, people.solver):
        login(user)
        [banner] = texts(client.get(url), "contract-banner")
        assert contract.number in banner and "Work starts when the enterprise" in banner
        assert texts(client.get(url), "funded") == []

    fund(contract.milestones[0], people.owner, people.managers["qingdao"])
    for user in (people.owner, people.solver):
        login(user)
        assert texts(client.get(url), "funded") == ["funded"]
    login(people.outsider)
    assert texts(client.get(url), "contract-banner") == []


def test_the_funding_page_shows_the_bank_account_the_reference_and_the_amount_due(
    app, client, login, people, award
):
    with transaction():
        policy.set_policy(people.admin, None, None, 500, 100, 0, 3000)
    contract = award([FIRST])
    login(people.owner)
    response = client.post(f"/milestones/{contract.milestones[0].id}/fund")
    funding = db.session.scalars(sa.select(Funding)).one()
    assert response.headers["Location"].endswith(f"/fundings/{funding.id}")
    shown = client.get(f"/fundings/{funding.id}")
    assert texts(shown, "amount-due") == ["¥1,246.91"]
    assert texts(shown, "reference") == [funding.reference]
    assert funding.reference.startswith(contract.number.replace("-", ""))
    for setting in ("PLATFORM_BANK_NAME", "PLATFORM_BANK_ACCOUNT_NAME"):
        assert app.config[setting] in page(shown)
    assert app.config["PLATFORM_BANK_ACCOUNT_NUMBER"] in page(shown)
    assert "the milestone (¥1,234.56) plus the platform's client-side fee (¥12.35)" in page(shown)
    # The same for the solver and the center's manager; no one else sees it.
    for user, status in (
        (people.solver, 200),
        (people.managers["qingdao"], 200),
        (people.managers["zibo"], 404),
        (people.outsider, 404),
    ):
        login(user)
        assert client.get(f"/fundings/{funding.id}").status_code == status

    with transaction():
        from crowdsource.payments import funding as fundings

        fundings.confirm_bank_transfer(people.managers["qingdao"], funding, 124_691, "ICBC-77")
    login(people.owner)
    received = page(client.get(f"/fundings/{funding.id}"))
    assert "(bank reference ICBC-77)" in received and 'data-testid="reference"' not in received


def earnings_card(response, number, role_text):
    """The facts of one card of /earnings: {label: value}, and its payouts' texts."""
    for card in parse(response).find_all(testid="payable"):
        heading = card.find_all("h2")[0].text
        if heading == f"{number} · {role_text}":
            terms = [dt_.text for dt_ in card.find_all("dt")]
            values = [dd.text for dd in card.find_all("dd")]
            payouts_ = [p.text for p in card.find_all(testid="payout")]
            return dict(zip(terms, values, strict=True)), payouts_
    raise AssertionError(f"no card {number} · {role_text}")


def test_earnings_show_gross_fees_deducted_balance_and_payouts(client, login, people, contract):
    login(people.professor)
    response = client.post(f"/contracts/{contract.id}/payouts/payee", data=BANK)
    assert response.status_code == 302
    payout = payouts.open_payout(ledger.find_account(f"payable:contract:{contract.id}:payee"))
    with transaction():
        payouts.send_payout(people.managers["qingdao"], payout, "OUT-0042")
    second = contract.milestones[1]
    deliver(people.broker, second)
    accept(people.owner, second)  # 200,000: 10,000 + 30,000 + 4,000 off, 156,000 to the payee
    client.post(f"/contracts/{contract.id}/payouts/payee", data=BANK)

    facts, payout_lines = earnings_card(client.get("/earnings"), contract.number, "as payee")
    assert facts == {
        "Released for you (gross)": "¥3,234.56",
        "Platform commission deducted": "¥161.73",
        "Agency brokerage deducted": "¥485.18",
        "Center share deducted": "¥64.69",
        "Earned": "¥2,522.96",
        "Paid out": "¥962.96",
        "Payable balance": "¥1,560.00",
    }
    assert len(payout_lines) == 2
    assert payout_lines[0].startswith("Payout of ¥962.96 requested")
    assert "sent · OUT-0042" in payout_lines[0]
    assert payout_lines[1].startswith("Payout of ¥1,560.00 requested")
    assert "requested" in payout_lines[1].split(":")[-1]

    # The agency sees its brokerage, not the university's money.
    login(people.broker)
    response = client.get("/earnings")
    facts, _ = earnings_card(response, contract.number, "agency brokerage")
    assert facts == {"Earned": "¥485.18", "Paid out": "¥0.00", "Payable balance": "¥485.18"}
    assert "as payee" not in page(response)


def test_the_earnings_csv_has_one_row_per_payable_with_its_amounts(
    client, login, people, contract, award
):
    other = award([50_000], bidder=people.solver)
    login(people.professor)
    rows = read_csv(client.get("/earnings.csv"))
    assert rows == [
        [
            "contract",
            "role",
            "gross_released",
            "commission",
            "brokerage",
            "center_share",
            "earned",
            "paid_out",
            "balance",
        ],
        [
            contract.number,
            "payee",
            "1234.56",
            "61.73",
            "185.18",
            "24.69",
            "962.96",
            "0.00",
            "962.96",
        ],
    ]
    assert other.number not in str(rows)
    login(people.broker)
    rows = read_csv(client.get("/earnings.csv"))
    assert rows[1:] == [
        [contract.number, "agency", "0.00", "0.00", "0.00", "0.00", "185.18", "0.00", "185.18"]
    ]


def test_the_contract_statement_csv_has_a_row_per_milestone_and_the_totals(
    client, login, people, contract
):
    for user in (people.owner, people.professor, people.broker, people.managers["shandong"]):
        login(user)
        response = client.get(f"/contracts/{contract.id}/statement.csv")
        assert response.status_code == 200
        assert f'filename="{contract.number}.csv"' in response.headers["Content-Disposition"]
        rows = read_csv(response)
        assert rows[0] == [
            "milestone",
            "title",
            "status",
            "amount",
            "client_fee_due",
            "due",
            "funded",
            "released",
            "refunded",
            "in_escrow",
            "payee",
            "brokerage",
            "commission",
            "client_fee",
            "center_share",
        ]
        assert ["|".join(row) for row in rows[1:]] == [
            "1|Milestone 1|released|1234.56|12.35|1246.91|1246.91|1246.91|0.00|0.00"
            "|962.96|185.18|61.73|12.35|24.69",
            "2|Milestone 2|funded|2000.00|20.00|2020.00|2020.00|0.00|0.00|2020.00"
            "|0.00|0.00|0.00|0.00|0.00",
            "3|Milestone 3|pending|3000.00|30.00|3030.00|0.00|0.00|0.00|0.00"
            "|0.00|0.00|0.00|0.00|0.00",
            "|total||6234.56||6296.91|3266.91|1246.91|0.00|2020.00|962.96|185.18|61.73|12.35|24.69",
        ]
    # What the statement says was released is what the ledger moved.
    released = rows[1]
    assert fen(released[10]) == ledger.balance(f"payable:contract:{contract.id}:payee")
    assert fen(released[11]) == ledger.balance(f"payable:contract:{contract.id}:agency")


def test_revenue_by_month_and_center_is_for_the_admin_and_sums_to_the_revenue_accounts(
    client, login, people, contract, award
):
    zibo_contract = award([400_000], zibo=True)  # the same platform policy: 5 %, 1 %, 2 %
    [milestone] = zibo_contract.milestones
    fund(milestone, people.zibo_owner, people.managers["zibo"])
    deliver(people.solver, milestone)
    accept(people.zibo_owner, milestone)

    for user in (people.managers["qingdao"], people.managers["shandong"], people.owner):
        login(user)
        assert client.get("/manage/revenue").status_code == 403
        assert client.get("/manage/revenue?format=csv").status_code == 403

    login(people.admin)
    month = utcnow().astimezone(zoneinfo.ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    shown = [
        row.cells() for row in parse(client.get("/manage/revenue")).find_all(testid="revenue-row")
    ]
    assert sorted(shown) == sorted(
        [
            [month, "Laoshan District", "¥61.73", "¥12.35", "¥24.69", "¥98.77"],
            [month, "Zibo", "¥200.00", "¥40.00", "¥80.00", "¥320.00"],
        ]
    )
    rows = read_csv(client.get("/manage/revenue?format=csv"))
    assert rows[0] == ["month", "center", "commission", "client_fee", "center_share", "total"]
    body = rows[1:]
    assert sorted(body) == sorted(
        [
            [month, "Laoshan District", "61.73", "12.35", "24.69", "98.77"],
            [month, "Zibo", "200.00", "40.00", "80.00", "320.00"],
        ]
    )
    center_accounts = db.session.scalars(
        sa.select(LedgerAccount.balance).where(LedgerAccount.code.like("revenue:center:%"))
    ).all()
    assert sum(fen(row[2]) for row in body) == ledger.balance("revenue:commission")
    assert sum(fen(row[3]) for row in body) == ledger.balance("revenue:client-fee")
    assert sum(fen(row[4]) for row in body) == sum(center_accounts)
    assert sum(fen(row[5]) for row in body) == sum(
        db.session.scalars(
            sa.select(LedgerAccount.balance).where(LedgerAccount.code.like("revenue:%"))
        )
    )
