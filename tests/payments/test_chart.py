"""The chart of accounts (crowdsource.payments.chart): each family's constructor builds the
codes stored today, byte for byte; the parser takes every code back to the account that built
it and refuses everything else; the SQL conditions select exactly a family's accounts; and
``flask ledger check`` reports an account that is not in the chart."""

import pytest
import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crowdsource.db import db, transaction
from crowdsource.payments import chart, ledger
from crowdsource.payments.models import AccountKind, LedgerAccount
from tests.helpers import examples
from tests.payments.support import ledger_check

PROPERTY = settings(max_examples=examples(0.5), deadline=None, database=None)

IDS = st.integers(min_value=1, max_value=10**12)
ACCOUNTS = st.one_of(
    st.builds(chart.escrow, IDS),
    st.builds(chart.payable, IDS, st.sampled_from(chart.PAYABLE_ROLES)),
    st.just(chart.commission_revenue()),
    st.just(chart.client_fee_revenue()),
    st.builds(chart.center_revenue, IDS),
    st.builds(chart.Clearing, st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)),
)


def test_the_constructors_build_the_codes_stored_in_the_database():
    assert chart.escrow(42).code == "escrow:milestone:42"
    assert chart.payable(7, "payee").code == "payable:contract:7:payee"
    assert chart.payable(7, "agency").code == "payable:contract:7:agency"
    assert chart.payable(7, "client").code == "payable:contract:7:client"
    assert chart.commission_revenue().code == "revenue:commission"
    assert chart.client_fee_revenue().code == "revenue:client-fee"
    assert chart.center_revenue(3).code == "revenue:center:3"
    assert chart.clearing("manual").code == "clearing:bank"
    assert chart.clearing("stripe").code == "clearing:stripe"


def test_each_family_has_its_kind_of_account():
    assert chart.escrow(1).kind == AccountKind.ESCROW
    assert chart.payable(1, "client").kind == AccountKind.PAYABLE
    assert chart.commission_revenue().kind == AccountKind.REVENUE
    assert chart.client_fee_revenue().kind == AccountKind.REVENUE
    assert chart.center_revenue(1).kind == AccountKind.REVENUE
    assert chart.clearing("manual").kind == AccountKind.CLEARING


def test_the_parser_gives_the_family_and_its_keys():
    assert chart.parse("payable:contract:12:agency") == chart.ContractPayable(12, "agency")
    parsed = chart.parse("escrow:milestone:9")
    assert parsed.family == chart.Family.MILESTONE_ESCROW and parsed.milestone_id == 9
    assert chart.parse("revenue:center:5").center_id == 5
    assert chart.parse("clearing:bank") == chart.clearing("manual")
    assert chart.parse_payable("payable:contract:3:client").role == "client"


@PROPERTY
@given(account=ACCOUNTS)
def test_every_code_parses_back_to_the_account_that_built_it(account):
    assert chart.parse(account.code) == account
    assert chart.parse(account.code).code == account.code
    assert type(chart.parse(account.code)) is chart.FAMILIES[account.family]


MALFORMED = [
    "",
    "escrow",
    "escrow:",
    "escrow:milestone",
    "escrow:milestone:",
    "escrow:milestone:0",
    "escrow:milestone:007",
    "escrow:milestone:-3",
    "escrow:milestone:4x",
    "escrow:milestone:4 ",
    " escrow:milestone:4",
    "escrow:milestone:4\n",
    "escrow:milestone:٣",  # an Arabic-Indic three: a digit, but not an ASCII one
    "escrow:milestone:4:5",
    "Escrow:milestone:4",
    "escrow:contract:4",
    "payable:contract:7",
    "payable:contract:7:",
    "payable:contract:7:boss",
    "payable:contract:7:payee:1",
    "payable:contract::payee",
    "payable:milestone:7:payee",
    "revenue",
    "revenue:",
    "revenue:commission:1",
    "revenue:client_fee",
    "revenue:center",
    "revenue:center:",
    "revenue:center:x",
    "clearing",
    "clearing:",
    "clearing:Bank",
    "clearing:bank account",
    "clearing:-bank",
    "clearing:bank:1",
    "voucher:fund:1:2",
    "fund:milestone:4",
]


@pytest.mark.parametrize("code", MALFORMED)
def test_the_parser_refuses_what_is_no_code_of_the_chart(code):
    with pytest.raises(chart.MalformedCode, match="no account code of the chart"):
        chart.parse(code)
    assert chart.parse_or_none(code) is None


@PROPERTY
@given(text=st.text(alphabet="escrowpayablvnuigmt:-0123456789 ٣", max_size=30))
@example(text="escrow:milestone:01")
def test_any_text_either_is_refused_or_is_exactly_the_code_of_what_it_parses_to(text):
    parsed = chart.parse_or_none(text)
    assert parsed is None or parsed.code == text


def test_a_payable_parser_refuses_other_families():
    with pytest.raises(chart.MalformedCode, match="no payable account"):
        chart.parse_payable("escrow:milestone:1")
    with pytest.raises(chart.MalformedCode, match="no account code"):
        chart.parse_payable("payable:contract:1:boss")


@pytest.mark.parametrize(
    "build",
    [
        lambda: chart.escrow(0),
        lambda: chart.escrow(True),
        lambda: chart.escrow("4"),
        lambda: chart.payable(7, "boss"),
        lambda: chart.payable(-1, "payee"),
        lambda: chart.center_revenue(0),
        lambda: chart.clearing("Bank"),
        lambda: chart.clearing(""),
    ],
)
def test_keys_that_make_no_code_are_refused_when_the_account_is_built(build):
    with pytest.raises(chart.MalformedCode):
        build()


# --- in SQL ------------------------------------------------------------------------------------

CODES = {
    "escrow:milestone:1": AccountKind.ESCROW,
    "escrow:milestone:12": AccountKind.ESCROW,
    "payable:contract:1:payee": AccountKind.PAYABLE,
    "payable:contract:1:agency": AccountKind.PAYABLE,
    "payable:contract:1:client": AccountKind.PAYABLE,
    "payable:contract:12:agency": AccountKind.PAYABLE,
    "payable:contract:12:client": AccountKind.PAYABLE,
    "revenue:commission": AccountKind.REVENUE,
    "revenue:client-fee": AccountKind.REVENUE,
    "revenue:center:1": AccountKind.REVENUE,
    "revenue:center:12": AccountKind.REVENUE,
    "clearing:bank": AccountKind.CLEARING,
    "clearing:stripe": AccountKind.CLEARING,
}


@pytest.fixture
def every_family(db):
    with transaction():
        for code, kind in CODES.items():
            ledger.account(code, kind)


def selected(condition):
    return set(db.session.scalars(sa.select(LedgerAccount.code).where(condition)))


def test_the_sql_conditions_select_exactly_the_accounts_of_a_family(every_family):
    Family = chart.Family
    assert selected(chart.of_family(Family.MILESTONE_ESCROW)) == {
        "escrow:milestone:1",
        "escrow:milestone:12",
    }
    assert selected(chart.of_family(Family.COMMISSION_REVENUE)) == {"revenue:commission"}
    assert selected(chart.of_family(Family.CLIENT_FEE_REVENUE)) == {"revenue:client-fee"}
    assert selected(chart.of_family(Family.CENTER_REVENUE)) == {
        "revenue:center:1",
        "revenue:center:12",
    }
    assert selected(chart.of_family(Family.CLEARING)) == {"clearing:bank", "clearing:stripe"}
    for kind in AccountKind:
        assert selected(chart.of_kind(kind)) == {c for c, k in CODES.items() if k == kind}


def test_the_payables_of_a_contract_or_a_role_are_not_those_of_a_contract_with_a_longer_id(
    every_family,
):
    assert selected(chart.payables(contract_id=1)) == {
        "payable:contract:1:payee",
        "payable:contract:1:agency",
        "payable:contract:1:client",
    }
    assert selected(chart.payables(contract_id=12, role="client")) == {"payable:contract:12:client"}
    assert selected(chart.payables(role="agency")) == {
        "payable:contract:1:agency",
        "payable:contract:12:agency",
    }
    assert selected(chart.payables()) == {c for c in CODES if c.startswith("payable:")}
    assert [a.code for a in chart.payables_of_contract(12)] == [
        "payable:contract:12:payee",
        "payable:contract:12:agency",
        "payable:contract:12:client",
    ]


def test_the_ledger_check_reports_an_account_outside_the_chart_or_of_the_wrong_kind(app, db):
    with transaction():
        ledger.account("revenue:misc", AccountKind.REVENUE)
        ledger.account("revenue:center:4", AccountKind.PAYABLE)
    assert sorted(chart.check()) == [
        "account revenue:center:4 is of kind payable, but its family is of kind revenue",
        "account revenue:misc is not in the chart of accounts",
    ]
    code, output = ledger_check(app)
    assert code == 1
    assert "VIOLATION: account revenue:misc is not in the chart of accounts" in output
    assert "VIOLATION: account revenue:center:4 is of kind payable" in output


def test_every_account_the_services_open_is_in_the_chart(every_family):
    assert chart.check() == []
