"""The intruder check: what a reader who is a party to some contracts can work out about the
others from everything published.

The model is the one statistics offices audit tables with, made stronger than any real reader:

- the intruder knows the *structure*: for every contract, the cell it lies in in every table
  (its contract type, city and month), so the unknowns are only the contracts' values, each
  at least 0;
- every published value is a linear constraint: the values of the contracts of a shown cell
  add up to it (the tables of a year by type, city and month, and the year itself);
- a party knows its own contracts (any contract it is the enterprise, the payee, the agency or
  the solver of, or that an organization it belongs to is);
- it then bounds every other contributor's contribution by linear programming.

Contracts that lie in the same cell of every table (an *atom*: one type, city and month) are
indistinguishable to the constraints, so the programme bounds each atom's unknown total; a
contributor's contribution to an atom is at most that bound, and at least it only when the
contributor is the atom's only unknown one on its side. A contribution is *disclosed* when the
intruder's upper bound is below (1 + p) times it, or its lower bound above (1 − p) times it
(exactly determined is both).

The true values satisfy every constraint, so an atom's upper bound is at least its true unknown
total: only atoms where one contributor holds nearly all of the unknown value (more than
1 / (1 + p) of it), or is alone on its side, can be disclosed, and only those are solved for.
Parties who know the same contracts are one intruder. HiGHS (highspy) solves the programmes.
"""

import dataclasses
import os
import sys
import threading
from collections import defaultdict

import highspy
import numpy as np

#: slack on the solver's answers (values are scaled to the year's total, about 1): a bound
#: this close to the line counts as over it, so numerical noise can only hide more
TOLERANCE = 1e-7

_first_solver = threading.Lock()
_banner_shown = False


def _solver():
    """A silent HiGHS instance. The first one a process makes prints HiGHS's banner on the
    standard output (from C++, whatever ``silent()`` says): that one is made with the output
    sent to /dev/null, so that ``flask stats audit`` and the logs print only our lines."""
    global _banner_shown
    with _first_solver:
        if not _banner_shown:
            sys.stdout.flush()
            saved, quiet = os.dup(1), os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)
            try:
                highs = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(quiet)
            _banner_shown = True
        else:
            highs = highspy.Highs()
    highs.silent()
    return highs


@dataclasses.dataclass(frozen=True)
class Fact:
    """One contract as the intruder sees it."""

    id: int
    value: int
    #: the cell it lies in in every table at once, e.g. (year, type, city, month)
    atom: tuple
    #: {"enterprise": key, "payee": key}: whose contribution it is part of
    contributors: dict
    #: every party that knows it
    knowers: frozenset


@dataclasses.dataclass(frozen=True)
class Constraint:
    """A published value: the contracts of these atoms add up to ``value``."""

    atoms: frozenset
    value: int
    #: what was published, for the report (e.g. ("contracts-by-type", 2025, "development"))
    source: tuple = ()


@dataclasses.dataclass(frozen=True)
class Finding:
    #: the parties who can work it out, who know the same contracts ((None,): anyone)
    parties: tuple
    atom: tuple
    side: str
    contributor: object
    #: "exact", "upper" (bounded from above within p %) or "lower"
    kind: str
    #: the true contribution and the bound the intruder gets, in fen
    value: int
    bound: float


@dataclasses.dataclass
class _AtomView:
    """An atom's contracts unknown to one intruder."""

    total: int
    #: {side: {contributor: contribution}}
    shares: dict


def _view(facts, known):
    shares = defaultdict(dict)
    total = 0
    for fact in facts:
        if fact.id in known:
            continue
        total += fact.value
        for side, contributor in fact.contributors.items():
            side_shares = shares[side]
            side_shares[contributor] = side_shares.get(contributor, 0) + fact.value
    return _AtomView(total, dict(shares))


def _targets(view, p):
    """The contributions of an atom that could be disclosed: (side, contributor, value,
    check the upper bound, check the lower bound)."""
    targets = []
    for side, shares in view.shares.items():
        alone = len(shares) == 1
        for contributor, value in shares.items():
            upper = view.total < (1 + p) * value
            if upper or alone:
                targets.append((side, contributor, value, upper, alone))
    return targets


class _Programme:
    """The linear programme of one intruder: a variable per atom with unknown value."""

    def __init__(self, variables, constraints, known_by_atom, scale):
        self.columns = {atom: i for i, atom in enumerate(variables)}
        self.scale = scale
        starts, indexes, rows_lower = [], [], []
        columns = defaultdict(list)
        row = 0
        for constraint in constraints:
            members = [self.columns[a] for a in constraint.atoms if a in self.columns]
            known = sum(known_by_atom.get(a, 0) for a in constraint.atoms)
            if not members:
                continue
            for column in members:
                columns[column].append(row)
            rows_lower.append((constraint.value - known) / scale)
            row += 1
        for column in range(len(variables)):
            starts.append(len(indexes))
            indexes.extend(columns[column])
        starts.append(len(indexes))
        self.highs = _solver()
        lp = highspy.HighsLp()
        lp.num_col_ = len(variables)
        lp.num_row_ = row
        lp.col_cost_ = np.zeros(len(variables))
        lp.col_lower_ = np.zeros(len(variables))
        lp.col_upper_ = np.full(len(variables), highspy.kHighsInf)
        lp.row_lower_ = np.array(rows_lower, dtype=float)
        lp.row_upper_ = np.array(rows_lower, dtype=float)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(indexes, dtype=np.int32)
        lp.a_matrix_.value_ = np.ones(len(indexes))
        self.highs.passModel(lp)

    def bound(self, atom, sense):
        """The largest (sense 1) or smallest (sense -1) value the atom's unknown total can
        take, in fen; infinity when nothing bounds it from above."""
        column = self.columns[atom]
        self.highs.changeColCost(column, -1.0 if sense > 0 else 1.0)
        self.highs.run()
        status = self.highs.getModelStatus()
        value = self.highs.getInfo().objective_function_value
        # (changing the model forgets its solution: read it first)
        self.highs.changeColCost(column, 0.0)
        if status == highspy.HighsModelStatus.kOptimal:
            return -value * self.scale if sense > 0 else value * self.scale
        if status == highspy.HighsModelStatus.kUnbounded:
            return float("inf") if sense > 0 else 0.0
        # infeasible would mean the published figures contradict the data; be safe: the
        # caller takes the true total as the bound (disclosed when the atom is dominated)
        return None


def findings(facts, constraints, rules, stop_at_first=False):
    """Every contribution some party can work out within p % from ``constraints`` and its own
    contracts (see the module docstring)."""
    p = rules.p
    by_atom = defaultdict(list)
    known_by = defaultdict(set)
    for fact in facts:
        by_atom[fact.atom].append(fact)
        for party in fact.knowers:
            known_by[party].add(fact.id)
    intruders = defaultdict(list)
    intruders[frozenset()].append(None)
    for party, ids in known_by.items():
        intruders[frozenset(ids)].append(party)
    facts_by_id = {fact.id: fact for fact in facts}
    scale = max(sum(fact.value for fact in facts), 1)
    outsider = {atom: _view(members, frozenset()) for atom, members in by_atom.items()}
    outsider_targets = {atom: _targets(view, p) for atom, view in outsider.items()}

    found = []
    for known, parties in sorted(
        intruders.items(), key=lambda item: (len(item[0]), sorted(item[0]))
    ):
        touched = {facts_by_id[i].atom for i in known}
        views = dict(outsider)
        targets = {atom: t for atom, t in outsider_targets.items() if t}
        for atom in touched:
            views[atom] = _view(by_atom[atom], known)
            atom_targets = _targets(views[atom], p) if views[atom].total else []
            if atom_targets:
                targets[atom] = atom_targets
            else:
                targets.pop(atom, None)
        if not targets:
            continue
        known_by_atom = defaultdict(int)
        for i in known:
            known_by_atom[facts_by_id[i].atom] += facts_by_id[i].value
        variables = sorted(atom for atom, view in views.items() if view.total)
        programme = _Programme(variables, constraints, known_by_atom, scale)
        for atom in sorted(targets):
            upper = lower = None
            for side, contributor, value, check_upper, check_lower in targets[atom]:
                kinds = []
                if check_upper:
                    if upper is None:
                        upper = programme.bound(atom, 1)
                        upper = views[atom].total if upper is None else upper
                    if upper < (1 + p) * value + TOLERANCE * scale:
                        kinds.append(("upper", upper))
                if check_lower:
                    if lower is None:
                        lower = programme.bound(atom, -1)
                        lower = views[atom].total if lower is None else lower
                    if lower > (1 - p) * value - TOLERANCE * scale:
                        kinds.append(("lower", lower))
                if len(kinds) == 2 and abs(upper - lower) <= TOLERANCE * scale:
                    kinds = [("exact", upper)]
                for kind, bound in kinds[:1]:
                    found.append(
                        Finding(
                            tuple(sorted(parties, key=str)),
                            atom,
                            side,
                            contributor,
                            kind,
                            value,
                            bound,
                        )
                    )
                    if stop_at_first:
                        return found
    return found
