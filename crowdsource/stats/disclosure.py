"""Disclosure control of the public statistics: the rules statistics offices apply, because
the people in the data (enterprises, solvers, agencies) are also its readers.

A cell of a public table is built from *contributions*: contracts (their value), tasks or bids,
each belonging to contributors (a contract to its enterprise and to its payee, a task to the
enterprise that posted it, a bid to its bidder). A contributor with several contracts in a cell
is one contributor, with their sum as its contribution.

Primary suppression (:func:`primary`). A non-empty cell is not shown when

- it has fewer than ``k`` distinct contributors of any kind it is counted for (*threshold*:
  ``k`` enterprises and ``k`` payees for contracts, ``k`` enterprises for tasks, ``k`` bidders
  for bids; ``STATS_MIN_CONTRIBUTORS``, 3 by default), or
- its value is dominated (*dominance*, the p % rule): the total minus its two largest
  contributions is less than ``p`` % of the largest (``STATS_DOMINANCE_PERCENT``, 10 by
  default), on the enterprises' side or on the payees'. Then the second-largest contributor,
  who knows its own share, could estimate the largest within p %.

A cell of no contract is shown as 0: it tells nothing about anyone.

Complementary suppression (:func:`suppress_partition`). Each public table splits a year into
cells (by contract type, by city, by month) whose sum is the year, also published. Subtracting
the shown cells from the year gives the sum of the hidden ones, so the hidden cells of a table
taken together must pass the primary rules as if they were one published cell: the smallest
shown cells are hidden as well until they do. A year whose total fails the rules hides all its
cells.

Across tables (intruder.py). A contract lies in one cell of each table, so the tables of a year
together are linear constraints on the contracts' values; a party knows its own contracts as
well. :func:`intruder.findings` solves, for every party, the bounds those constraints put on
every other party's contributions and reports any determined exactly or within p %;
public.py hides further cells until there are none, and ``flask stats audit`` checks what is
published the same way.

Time. Months are cut in the platform's time zone, the same for every reader. The public
figures cover complete months only, so they change once a month rather than with every
contract. A residual risk remains across monthly publications within a year (a cell hidden one
month may be shown the next, once more contracts join it); the figures of a closed year never
change again.
"""

import dataclasses
import enum

from flask import current_app


class Reason(enum.StrEnum):
    """Why a cell is not shown (published with the cell; never by how much)."""

    #: fewer than k distinct contributors
    THRESHOLD = "threshold"
    #: one contributor holds nearly all of the value (the p % rule)
    DOMINANCE = "dominance"
    #: hidden as well, so that a hidden cell cannot be worked out from the shown ones
    COMPLEMENTARY = "complementary"


@dataclasses.dataclass(frozen=True)
class Rules:
    #: the fewest distinct contributors of each kind a shown cell has
    min_contributors: int = 3
    #: p of the p % rule
    dominance_percent: int = 10

    @classmethod
    def configured(cls):
        config = current_app.config
        return cls(
            int(config.get("STATS_MIN_CONTRIBUTORS", 3)),
            int(config.get("STATS_DOMINANCE_PERCENT", 10)),
        )

    @property
    def p(self):
        return self.dominance_percent / 100


@dataclasses.dataclass
class Cell:
    """One cell of a public table: the contributions it is built from, and whether (and why)
    it is hidden.

    ``sides`` maps each kind of contributor the cell is counted for (e.g. "enterprise",
    "payee") to ``{contributor: contribution}``; ``value_sides`` names the kinds whose
    contributions are a value (the p % rule applies to them; counts only take the threshold).
    """

    key: tuple
    count: int = 0
    value: int = 0
    sides: dict = dataclasses.field(default_factory=dict)
    value_sides: tuple = ()
    reason: Reason | None = None
    #: the facts (contracts) of the cell, for the audit across tables
    members: list = dataclasses.field(default_factory=list)

    @property
    def suppressed(self):
        return self.reason is not None

    def add(self, count, value, contributors):
        """Count ``count`` more items worth ``value``, belonging to ``{side: contributor}``."""
        self.count += count
        self.value += value
        for side, contributor in contributors.items():
            shares = self.sides.setdefault(side, {})
            weight = value if side in self.value_sides else count
            shares[contributor] = shares.get(contributor, 0) + weight


def dominated(shares, p_percent):
    """The p % rule: whether the total of ``shares`` minus its two largest is less than p % of
    the largest (integers throughout: no rounding decides it)."""
    if not shares:
        return False
    ordered = sorted(shares, reverse=True)
    largest = ordered[0]
    second = ordered[1] if len(ordered) > 1 else 0
    remainder = sum(ordered) - largest - second
    return 100 * remainder < p_percent * largest


def primary(cells, rules):
    """The rule that hides the union of ``cells`` as one published cell, or None if it may be
    shown. Empty cells may always be shown."""
    if not any(cell.count for cell in cells):
        return None
    sides = {}
    for cell in cells:
        for side, shares in cell.sides.items():
            merged = sides.setdefault(side, {})
            for contributor, share in shares.items():
                merged[contributor] = merged.get(contributor, 0) + share
    if any(len(shares) < rules.min_contributors for shares in sides.values()):
        return Reason.THRESHOLD
    value_sides = {side for cell in cells for side in cell.value_sides}
    for side in value_sides:
        if dominated(list(sides.get(side, {}).values()), rules.dominance_percent):
            return Reason.DOMINANCE
    return None


def suppress_partition(cells, rules, total_reason=None, also=()):
    """Mark the cells of one partition of a year that may not be shown (see the module
    docstring) and return them. ``total_reason``: the year's total is hidden, so all its
    non-empty cells are. ``also``: keys hidden already for another reason (the audit across
    tables); kept hidden. Cells hidden before the call stay hidden."""
    for cell in cells:
        if cell.reason is None:
            cell.reason = primary([cell], rules)
        if cell.reason is None and cell.key in also:
            cell.reason = Reason.COMPLEMENTARY
    if total_reason is not None:
        for cell in cells:
            if cell.count and cell.reason is None:
                cell.reason = Reason.COMPLEMENTARY
        return cells
    hidden = [cell for cell in cells if cell.suppressed]
    candidates = sorted(
        (cell for cell in cells if not cell.suppressed and cell.count),
        key=lambda cell: (cell.value, cell.count, cell.key),
    )
    while hidden and primary(hidden, rules) is not None and candidates:
        partner = candidates.pop(0)
        partner.reason = Reason.COMPLEMENTARY
        hidden.append(partner)
    return cells


def change(current, previous):
    """Relative change from ``previous`` to ``current`` (0.25 = +25 %), or None when there is
    nothing to compare with."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous
