"""The suppression rules, for any partition of a year's contracts (property-based)."""

from hypothesis import given
from hypothesis import strategies as st

from crowdsource.stats.disclosure import MIN_COUNT, Cell, suppress_partition, total_shown

counts = st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=14)


def partition(values):
    return suppress_partition([Cell((i,), n, {"value_fen": n * 100}) for i, n in enumerate(values)])


@given(counts)
def test_no_cell_of_one_or_two_contracts_is_shown(values):
    for cell in partition(values):
        assert cell.suppressed or cell.count == 0 or cell.count >= MIN_COUNT


@given(counts)
def test_subtracting_the_shown_cells_from_the_total_reveals_no_small_group(values):
    cells = partition(values)
    total = sum(values)
    hidden = [cell.count for cell in cells if cell.suppressed]
    if not hidden:
        return
    if total_shown(total):
        # total minus the shown cells is the sum of the hidden ones: never fewer than 3
        # contracts, and never a single cell
        assert sum(hidden) >= MIN_COUNT
        assert len([count for count in hidden if count]) >= 2
    else:
        assert all(cell.suppressed for cell in cells if cell.count)


@given(counts)
def test_only_what_is_needed_is_hidden(values):
    cells = partition(values)
    primary = [cell for cell in cells if 0 < cell.count < MIN_COUNT]
    extra = [cell for cell in cells if cell.suppressed and cell not in primary]
    if not primary:
        assert not extra
    else:
        # complementary cells are the smallest non-empty ones, at most as many as needed
        assert len(extra) <= 2
        shown = [cell.count for cell in cells if not cell.suppressed and cell.count]
        assert all(cell.count <= min(shown, default=cell.count) for cell in extra)


def test_a_year_with_two_contracts_shows_nothing():
    cells = partition([1, 1, 0, 0])
    assert [cell.suppressed for cell in cells] == [True, True, False, False]
    assert not total_shown(2)


def test_a_lone_small_cell_takes_the_smallest_other_cell_with_it():
    cells = partition([1, 9, 4, 0, 5])
    assert [cell.suppressed for cell in cells] == [True, False, True, False, False]
