"""The primary and complementary rules, for any partition of a year's contracts
(property-based): thresholds on contributors, the p % rule, and hidden cells that together
pass the rules as one published cell."""

from hypothesis import given
from hypothesis import strategies as st

from crowdsource.stats.disclosure import Cell, Reason, Rules, dominated, primary, suppress_partition

RULES = Rules(min_contributors=3, dominance_percent=10)
SIDES = ("enterprise", "payee")

#: one contract: (cell, enterprise, payee, value)
contracts = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.integers(0, 5),
        st.integers(0, 5),
        st.integers(1, 1_000_000),
    ),
    max_size=30,
)


def partition(rows, cells=6):
    result = [Cell((i,), value_sides=SIDES) for i in range(cells)]
    for cell, enterprise, payee, value in rows:
        result[cell].add(1, value, {"enterprise": f"e{enterprise}", "payee": f"p{payee}"})
    return result


def shares(cells, side):
    merged = {}
    for cell in cells:
        for who, share in cell.sides.get(side, {}).items():
            merged[who] = merged.get(who, 0) + share
    return merged


def p_rule_holds(cells, side, p=10):
    values = sorted(shares(cells, side).values(), reverse=True)
    if not values:
        return True
    return 100 * (sum(values) - values[0] - (values[1] if len(values) > 1 else 0)) >= p * values[0]


@given(contracts)
def test_a_shown_cell_has_3_enterprises_and_3_payees_and_passes_the_p_rule(rows):
    for cell in suppress_partition(partition(rows), RULES):
        if cell.suppressed or not cell.count:
            continue
        for side in SIDES:
            assert len(cell.sides[side]) >= 3, cell
            assert p_rule_holds([cell], side), cell


@given(contracts)
def test_the_hidden_cells_together_pass_the_rules_as_one_cell(rows):
    """Subtracting the shown cells from the year gives the sum of the hidden ones: that sum is
    itself a cell the rules would let us publish."""
    cells = suppress_partition(partition(rows), RULES)
    hidden = [cell for cell in cells if cell.suppressed]
    if not hidden:
        return
    every = [cell for cell in cells if cell.count]
    if primary(every, RULES) is not None:
        return  # the year itself is too small: its total is hidden (public.py)
    for side in SIDES:
        assert len(shares(hidden, side)) >= 3
        assert p_rule_holds(hidden, side)


@given(contracts)
def test_only_what_is_needed_is_hidden(rows):
    cells = suppress_partition(partition(rows), RULES)
    if all(primary([cell], RULES) is None for cell in cells):
        assert not any(cell.suppressed for cell in cells)
    complementary = [cell for cell in cells if cell.reason == Reason.COMPLEMENTARY]
    shown = [cell for cell in cells if not cell.suppressed and cell.count]
    # complementary cells are the smallest shown ones by value
    for cell in complementary:
        assert all(cell.value <= other.value for other in shown)


def test_a_party_to_two_of_three_contracts_hides_the_cell():
    """The issue's 2025-06: one enterprise (and one payee) holds two of three contracts."""
    (cell,) = partition([(0, 1, 1, 60_000_000), (0, 1, 1, 8_000_000), (0, 2, 2, 12_000_000)], 1)
    assert primary([cell], RULES) == Reason.THRESHOLD


def test_three_contracts_of_two_enterprises_are_hidden_although_three_payees_won_them():
    """The issue's 2025-03: three contracts, two of them of one enterprise."""
    rows = [(0, 1, 1, 60_000_000), (0, 1, 2, 8_000_000), (0, 2, 3, 60_000_000)]
    (cell,) = partition(rows, 1)
    assert primary([cell], RULES) == Reason.THRESHOLD


def test_a_cell_of_one_large_contract_is_hidden_by_the_p_rule():
    # 61 % and 35 %: the third contract (4 %) is less than 10 % of the largest, so the second
    # party could estimate the largest within 10 %
    (cell,) = partition([(0, 1, 1, 6_100), (0, 2, 2, 3_500), (0, 3, 3, 400)], 1)
    assert primary([cell], RULES) == Reason.DOMINANCE
    (cell,) = partition([(0, 1, 1, 6_100), (0, 2, 2, 3_000), (0, 3, 3, 900)], 1)
    assert primary([cell], RULES) is None


def test_contributions_are_summed_per_contributor():
    # four contracts of three enterprises: the first enterprise's two make it dominant
    rows = [(0, 1, 1, 5_000), (0, 1, 2, 4_500), (0, 2, 3, 400), (0, 3, 4, 100)]
    (cell,) = partition(rows, 1)
    assert cell.sides["enterprise"] == {"e1": 9_500, "e2": 400, "e3": 100}
    assert dominated(list(cell.sides["enterprise"].values()), 10)
    assert primary([cell], RULES) == Reason.DOMINANCE


def test_the_rules_are_configurable():
    rows = [(0, 1, 1, 100), (0, 2, 2, 100), (0, 3, 3, 100)]
    (cell,) = partition(rows, 1)
    assert primary([cell], Rules(3, 10)) is None
    assert primary([cell], Rules(4, 10)) == Reason.THRESHOLD


def test_a_lone_small_cell_takes_the_smallest_other_cell_with_it():
    rows = [
        (0, 1, 1, 500),
        *[(1, e, e, 1_000) for e in range(3)],
        *[(2, e, e, 2_000) for e in range(3)],
        *[(3, e, e, 3_000) for e in range(3)],
    ]
    cells = suppress_partition(partition(rows, 4), RULES)
    assert [cell.reason for cell in cells] == [
        Reason.THRESHOLD,
        Reason.COMPLEMENTARY,
        None,
        None,
    ]
