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


class _Programme:
    """The linear programme of one intruder: a variable per class of atoms with unknown value,
    a row per published value that bears on one (its right-hand side less what the intruder
    knows)."""

    def __init__(self, variables, rows, scale):
        self.columns = {variable: i for i, variable in enumerate(variables)}
        self.scale = scale
        columns = defaultdict(list)
        rows_lower = []
        for members, rhs in rows:
            for variable in members:
                columns[self.columns[variable]].append(len(rows_lower))
            rows_lower.append(rhs / scale)
        starts, indexes = [], []
        for column in range(len(variables)):
            starts.append(len(indexes))
            indexes.extend(columns[column])
        starts.append(len(indexes))
        self.highs = _solver()
        # each bound is a re-solve from the last basis: presolving every time costs more
        self.highs.setOptionValue("presolve", "off")
        lp = highspy.HighsLp()
        lp.num_col_ = len(variables)
        lp.num_row_ = len(rows_lower)
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

    def bound(self, variable, sense, point=False):
        """The largest (sense 1) or smallest (sense -1) value the variable can take, in fen;
        infinity when nothing bounds it from above; None if the programme is infeasible. With
        ``point``, also the values of every variable where it is reached (in fen)."""
        column = self.columns[variable]
        self.highs.changeColCost(column, -1.0 if sense > 0 else 1.0)
        self.highs.run()
        status = self.highs.getModelStatus()
        value = self.highs.getInfo().objective_function_value
        values = None
        if point and status == highspy.HighsModelStatus.kOptimal:
            values = [v * self.scale for v in self.highs.getSolution().col_value]
        # (changing the model forgets its solution: read it first)
        self.highs.changeColCost(column, 0.0)
        if status == highspy.HighsModelStatus.kOptimal:
            result = -value * self.scale if sense > 0 else value * self.scale
        elif status == highspy.HighsModelStatus.kUnbounded:
            result = float("inf") if sense > 0 else 0.0
        else:
            # infeasible would mean the published figures contradict the data; the caller
            # takes the true total as the bound (disclosed when the class is dominated)
            result = None
        return (result, values) if point else result

    def certify(self, needs, sense):
        """The variables of ``needs`` ({variable: limit}) that some solution takes past their
        limit (above for sense 1, below for -1): one programme pushes all of them at once,
        weighted by their limits, then again for those left, while it certifies any. What it
        certifies needs no programme of its own."""
        certified = set()
        pending = dict(needs)
        while pending:
            columns = np.array([self.columns[v] for v in pending], dtype=np.int32)
            weights = np.array([1.0 / max(abs(limit), 1.0) for limit in pending.values()])
            self.highs.changeColsCost(len(columns), columns, -sense * weights * self.scale)
            self.highs.run()
            optimal = self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
            values = list(self.highs.getSolution().col_value) if optimal else None
            self.highs.changeColsCost(len(columns), columns, np.zeros(len(columns)))
            if values is None:
                break
            reached = {
                variable
                for variable, limit in pending.items()
                if (values[self.columns[variable]] * self.scale - limit) * sense >= 0
            }
            if not reached:
                break
            certified |= reached
            for variable in reached:
                del pending[variable]
        return certified


def _certified(truth, known, outsider_point, group, columns, limit, sense):
    """Whether a point of the intruder's programme reaches past ``limit`` for ``group`` (so
    no programme need be solved): the segment from the true values towards the outsider's
    extreme point stays feasible for the intruder as long as every class keeps at least what
    the intruder knows of it, and a class it knows all of keeps exactly its true total."""
    if outsider_point is None:
        return False
    step = 1.0
    for other, column in columns.items():
        far, true, own = outsider_point[column], truth[other], known.get(other, 0)
        if true <= own:
            # the intruder knows all of this class: it stays at its true total, exactly
            if abs(far - true) > TOLERANCE * max(true, 1.0):
                return False
        elif far < own:
            step = min(step, (true - own) / (true - far))
    reached = truth[group] + step * (outsider_point[columns[group]] - truth[group])
    reached -= known.get(group, 0)
    return reached >= limit if sense > 0 else reached <= limit


class _Extremes:
    """The outsider's programme (nothing known), and its extreme points per class, solved when
    first asked for: from them most intruders' bounds are certified without a programme of
    their own (_certified)."""

    def __init__(self, outsider, class_of, constraints, scale):
        self.truth = defaultdict(int)
        for atom, view in outsider.items():
            self.truth[class_of[atom]] += view.total
        variables = sorted(self.truth, key=sorted)
        rows = []
        for index, constraint in enumerate(constraints):
            members = [group for group in variables if index in group]
            if members:
                rows.append((members, constraint.value))
        self.columns = {group: i for i, group in enumerate(variables)}
        self.rows, self.scale, self.variables = rows, scale, variables
        self.programme = None
        self.points = {}

    def point(self, group, sense):
        if (group, sense) not in self.points:
            if self.programme is None:
                self.programme = _Programme(self.variables, self.rows, self.scale)
            _, values = self.programme.bound(group, sense, point=True)
            self.points[(group, sense)] = values
        return self.points[(group, sense)]


def _uncertified(targets, known_class, extremes, p, scale):
    """The targets of one intruder that no point of the outsider's certifies as safe."""
    left = defaultdict(list)
    for group, entries in targets.items():
        for entry in entries:
            _atom, _side, _contributor, value, upper, lower = entry
            safe = True
            if upper:
                limit = (1 + p) * value + TOLERANCE * scale
                point = extremes.point(group, 1)
                safe = _certified(
                    extremes.truth, known_class, point, group, extremes.columns, limit, 1
                )
            if safe and lower:
                limit = (1 - p) * value - TOLERANCE * scale
                point = extremes.point(group, -1)
                safe = _certified(
                    extremes.truth, known_class, point, group, extremes.columns, limit, -1
                )
            if not safe:
                left[group].append(entry)
    return left


def findings(facts, constraints, rules):
    """Every contribution some party can work out within p % from ``constraints`` and its own
    contracts (see the module docstring).

    Atoms that lie in the same published cells (the same rows) are interchangeable: any value
    can move between them without changing a published figure, so the programme has one
    variable per such *class*, its atoms' unknown total. An atom's upper bound is its class's
    (the rest of the class can be 0); its lower bound is 0 unless it is the only atom of its
    class with unknown value.
    """
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
    signature = defaultdict(set)
    for index, constraint in enumerate(constraints):
        for atom in constraint.atoms:
            signature[atom].add(index)
    class_of = {atom: frozenset(signature.get(atom, ())) for atom in by_atom}
    outsider = {atom: _view(members, frozenset()) for atom, members in by_atom.items()}
    extremes = _Extremes(outsider, class_of, constraints, scale)

    found = []
    for known, parties in sorted(
        intruders.items(), key=lambda item: (len(item[0]), sorted(item[0]))
    ):
        views = dict(outsider)
        known_by_atom = defaultdict(int)
        for i in known:
            fact = facts_by_id[i]
            known_by_atom[fact.atom] += fact.value
        for atom in known_by_atom:
            views[atom] = _view(by_atom[atom], known)
        class_total, class_live = defaultdict(int), defaultdict(int)
        for atom, view in views.items():
            if view.total:
                class_total[class_of[atom]] += view.total
                class_live[class_of[atom]] += 1
        targets = defaultdict(list)
        for atom, view in views.items():
            if not view.total:
                continue
            group = class_of[atom]
            for side, shares in view.shares.items():
                alone = len(shares) == 1 and class_live[group] == 1
                for contributor, value in shares.items():
                    upper = class_total[group] < (1 + p) * value
                    if upper or alone:
                        targets[group].append((atom, side, contributor, value, upper, alone))
        if not targets:
            continue
        known_class = defaultdict(int)
        for atom, amount in known_by_atom.items():
            known_class[class_of[atom]] += amount
        if known:
            targets = _uncertified(targets, known_class, extremes, p, scale)
            if not targets:
                continue
        variables = sorted(class_total, key=sorted)
        rows = []
        for index, constraint in enumerate(constraints):
            members = [group for group in variables if index in group]
            if members:
                known_part = sum(known_by_atom.get(atom, 0) for atom in constraint.atoms)
                rows.append((members, constraint.value - known_part))
        programme = _Programme(variables, rows, scale)
        upper_needs, lower_needs = {}, {}
        for group, entries in targets.items():
            for _atom, _side, _contributor, value, check_upper, check_lower in entries:
                if check_upper:
                    limit = (1 + p) * value + TOLERANCE * scale
                    upper_needs[group] = max(upper_needs.get(group, 0), limit)
                if check_lower:
                    limit = (1 - p) * value - TOLERANCE * scale
                    lower_needs[group] = min(lower_needs.get(group, limit), limit)
        safe_upper = programme.certify(upper_needs, 1)
        safe_lower = programme.certify(lower_needs, -1)
        for group in sorted(targets, key=sorted):
            upper = lower = None
            for atom, side, contributor, value, check_upper, check_lower in targets[group]:
                check_upper = check_upper and group not in safe_upper
                check_lower = check_lower and group not in safe_lower
                kinds = []
                if check_upper:
                    if upper is None:
                        upper = programme.bound(group, 1)
                        upper = class_total[group] if upper is None else upper
                    if upper < (1 + p) * value + TOLERANCE * scale:
                        kinds.append(("upper", upper))
                if check_lower:
                    if lower is None:
                        lower = programme.bound(group, -1)
                        lower = class_total[group] if lower is None else lower
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
    return found
