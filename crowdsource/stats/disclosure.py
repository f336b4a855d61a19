"""Disclosure control of the public statistics: no published cell is built from fewer than
three contracts, and no suppressed cell can be had back by subtraction.

What is published. Every public table is one-dimensional within a year: contracts of a year
by contract type, by city, by month, and tasks of a year by contract type. Each is a
*partition* of the year's contracts (or tasks): its cells add up to the year's total, which
is published too (and could be had anyway by adding up a table whose cells are all shown).
There are no cross tables (type × city): a cell of a cross table nests inside a cell of each
margin, and sets of nested tables let one solve for single cells across them. The filters of
the API select published cells; they never compute a new breakdown.

Primary suppression. A cell counting 1 or 2 contracts is not shown: neither its count nor
anything computed from its contracts (value, change on the previous year). A cell counting 0
is shown as 0; it tells nothing about any contract. The year total obeys the same rule.

Complementary suppression. Subtracting the shown cells of a year from the year's total gives
the sum of its suppressed cells. So within each partition that has a suppressed cell, further
cells are suppressed (the smallest non-empty ones first, ties broken by their key) until at
least two non-empty cells are suppressed and together they count at least three contracts.
What subtraction yields then is an aggregate of at least three contracts, which this module
would have published anyway. When a year counts fewer than three contracts, every cell and
the total are suppressed. Partitions of the same year along different dimensions share only
the total, so combining them gives nothing more than each does alone.

Change on the previous year is computed only between two shown cells (else it would let one
work out a suppressed cell from a shown one).

Time. Months are cut in the platform's time zone, the same for every reader (two readers
with differently cut months could subtract one's cells from the other's). The public figures
cover complete months only, so they change once a month rather than with every contract,
which would let anyone watching the totals read the value of a single new contract. A residual
risk remains across monthly publications within a year (a cell that was suppressed with a
partner one month may be shown the next); the figures of a closed year never change again.
"""

import dataclasses

#: the fewest contracts (or tasks) a published cell may be built from
MIN_COUNT = 3


@dataclasses.dataclass
class Cell:
    """One cell of a public table: a count, the sums that go with it, and whether it is
    shown. ``sums`` are the figures computed from the cell's contracts (e.g. value)."""

    key: tuple
    count: int
    sums: dict = dataclasses.field(default_factory=dict)
    suppressed: bool = False


def suppress_partition(cells, minimum=MIN_COUNT):
    """Mark the cells of one partition (e.g. the contract types of one year) that may not be
    shown: primary suppression of small cells, then complementary suppression (see the module
    docstring). Changes ``cells`` in place and returns them."""
    for cell in cells:
        cell.suppressed = 0 < cell.count < minimum
    hidden = [cell for cell in cells if cell.suppressed]
    if not hidden:
        return cells
    candidates = sorted(
        (cell for cell in cells if not cell.suppressed and cell.count > 0),
        key=lambda cell: (cell.count, cell.key),
    )
    while len(hidden) < 2 or sum(cell.count for cell in hidden) < minimum:
        if not candidates:
            break
        partner = candidates.pop(0)
        partner.suppressed = True
        hidden.append(partner)
    return cells


def total_shown(count, minimum=MIN_COUNT):
    """Whether the total of a partition (a year) may be shown."""
    return count == 0 or count >= minimum


def change(current, previous):
    """Relative change from ``previous`` to ``current`` (0.25 = +25 %), or None when there is
    nothing to compare with."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous
