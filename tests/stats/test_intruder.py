"""The intruder check, made independently: for random markets, protect the year's tables as the
public statistics do, then, for every party, solve with SciPy's linear programming (one variable
per contract, not per cell as intruder.py does) for the bounds of every other contract's value
given everything shown and the party's own contracts. No bound may come within p % of the
true value."""

from types import SimpleNamespace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from crowdsource.stats import intruder, public, queries
from crowdsource.stats.disclosure import Reason, Rules
from crowdsource.tasks.models import ContractType
from tests.helpers import examples

RULES = Rules(3, 10)
REGIONS = [SimpleNamespace(id=i, code=f"city{i}") for i in range(3)]
BY_CENTER = {region.id: region for region in REGIONS}
TYPES = list(ContractType)[:3]

#: one contract: (month, type, city, enterprise, payee, value in yuan)
markets = st.lists(
    st.tuples(
        st.integers(1, 3),
        st.integers(0, 2),
        st.integers(0, 2),
        st.integers(0, 4),
        st.integers(0, 4),
        st.integers(1, 1000),
    ),
    min_size=1,
    max_size=14,
)


def facts_of(rows):
    return [
        queries.ContractFact(
            i,
            f"2025-{month:02d}",
            TYPES[kind],
            city,
            value * 100,
            ("org", enterprise),
            ("user", payee),
            frozenset({("org", enterprise), ("user", payee)}),
        )
        for i, (month, kind, city, enterprise, payee, value) in enumerate(rows)
    ]


def protected(facts):
    (year,) = public._contract_years(facts, [2025], BY_CENTER, REGIONS, "2025-12").values()
    public.protect(year, RULES, BY_CENTER)
    return year


def shown_sums(year):
    """(contract ids, value) of every shown non-empty cell of the year."""
    cells = [year.total, *(c for part in year.partitions for c in part.values())]
    return [([f.id for f in c.members], c.value) for c in cells if not c.suppressed and c.count]


def bounds(facts, sums, known, target):
    unknown = [f.id for f in facts if f.id not in known]
    column = {fid: i for i, fid in enumerate(unknown)}
    values = {f.id: f.value_fen for f in facts}
    rows, rhs = [], []
    for members, value in sums:
        row = np.zeros(len(unknown))
        for fid in members:
            if fid in column:
                row[column[fid]] = 1
        if row.any():
            rows.append(row)
            rhs.append(value - sum(values[fid] for fid in members if fid in known))
    cost = np.zeros(len(unknown))
    cost[column[target]] = 1
    if not rows:
        return 0.0, float("inf")
    low = linprog(cost, A_eq=np.array(rows), b_eq=rhs, bounds=(0, None), method="highs")
    high = linprog(-cost, A_eq=np.array(rows), b_eq=rhs, bounds=(0, None), method="highs")
    upper = float("inf") if high.status == 3 else -high.fun
    return low.fun, upper


@settings(
    max_examples=examples(0.05, 0.1),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(markets)
def test_no_party_bounds_another_contract_within_p_percent(rows):
    facts = facts_of(rows)
    year = protected(facts)
    sums = shown_sums(year)
    parties = {None} | {party for fact in facts for party in fact.parties}
    for party in parties:
        known = {f.id for f in facts if party in f.parties}
        for fact in facts:
            if fact.id in known:
                continue
            low, high = bounds(facts, sums, known, fact.id)
            slack = 1e-6 * fact.value_fen
            assert high >= 1.1 * fact.value_fen - slack, (party, fact, high)
            assert low <= 0.9 * fact.value_fen + slack, (party, fact, low)


def test_the_check_finds_what_a_party_to_two_of_three_contracts_learns():
    """Published alone, the issue's 2025-06 cell tells the enterprise of two contracts the
    third's value exactly."""
    facts = facts_of([(6, 0, 0, 1, 1, 600_000), (6, 0, 0, 1, 1, 80_000), (6, 0, 0, 2, 2, 120_000)])
    atom = public.atom_of(facts[0], BY_CENTER)
    found = intruder.findings(
        [public.intruder_fact(f, BY_CENTER) for f in facts],
        [intruder.Constraint(frozenset({atom}), 80_000_000)],
        RULES,
    )
    learned = {(party, f.contributor, f.kind) for f in found for party in f.parties}
    assert (("org", 1), ("org", 2), "exact") in learned
    assert (("user", 1), ("org", 2), "exact") in learned


def test_a_payee_of_two_enterprises_cannot_read_the_third_from_the_year():
    """Three enterprises and three payees pass the threshold, but the payee of two enterprises'
    contracts knows them both: the year's total alone would give away the third enterprise's.
    The protection hides the year's figures."""
    facts = facts_of(
        [(1, 0, 0, 1, 1, 100), (2, 1, 1, 2, 1, 120), (3, 2, 2, 3, 2, 90), (3, 2, 2, 3, 3, 95)]
    )
    year = protected(facts)
    assert year.total.reason == Reason.COMPLEMENTARY
    sums = shown_sums(year)
    known = {f.id for f in facts if ("user", 1) in f.parties}
    for fact in facts:
        if fact.id not in known:
            low, high = bounds(facts, sums, known, fact.id)
            assert high >= 1.1 * fact.value_fen and low <= 0.9 * fact.value_fen
