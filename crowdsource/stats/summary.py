"""The monthly summary the figures are read from, kept current by refreshing it on demand.

Every figure is added up from ``stats_cells``: a few rows per month, contract type and center,
instead of the 100,000s of task, bid, contract and ledger rows behind them. Each fact is counted
in the month it happened and never changes afterwards, so:

- a month that ended is computed once, after its end (plus a grace period for transactions
  that committed a little late), and is final from then on;
- the month now running is recomputed when its cells are older than ``STATS_REFRESH_SECONDS``
  (a month of rows: cheap);
- a month never computed (the first time anyone asks) is computed then.

:func:`ensure` does this before every read (the dashboards, the public figures, the API); the
``flask stats refresh`` command does it ahead of time. Two processes refreshing the same month
at once is harmless: one of them stores it, the other finds the rows there and gives way.
"""

import datetime as dt
import logging
from collections import defaultdict, namedtuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError, OperationalError

from crowdsource.bids.models import Bid
from crowdsource.contracts.models import Contract
from crowdsource.db import db, transaction, utcnow
from crowdsource.payments.models import JournalEntry
from crowdsource.stats import periods, queries
from crowdsource.stats.models import StatsCell, StatsMonth
from crowdsource.tasks.models import Task

log = logging.getLogger(__name__)

#: a month is final once computed this long after its end
GRACE = dt.timedelta(minutes=10)

FIGURES = (
    "contracts",
    "value_fen",
    "award_seconds",
    "tasks",
    "bids",
    "funded_fen",
    "released_fen",
    "refunded_fen",
    "commission_fen",
    "brokerage_fen",
)


#: a stored cell as read (fields in the order of the table's columns)
Cell = namedtuple("Cell", [column.name for column in StatsCell.__table__.c])


def month_end(month):
    year, number = int(month[:4]), int(month[5:7])
    return periods.month_start(year, number + 1)


def _is_current(month, refreshed_at, now):
    if refreshed_at is None:
        return False
    end = month_end(month)
    if refreshed_at >= end + GRACE:
        return True  # computed after it ended: final
    if now >= end + GRACE:
        return False  # ended since it was computed
    lifetime = dt.timedelta(seconds=current_app.config["STATS_REFRESH_SECONDS"])
    return now - refreshed_at < lifetime


def first_month():
    """The month of the earliest fact, or None when there is none yet."""
    earliest = [
        db.session.scalar(sa.select(sa.func.min(column)))
        for column in (
            Task.published_at,
            Contract.signed_at,
            Bid.created_at,
            JournalEntry.created_at,
        )
    ]
    earliest = [instant for instant in earliest if instant is not None]
    return periods.month_key(min(earliest)) if earliest else None


def ensure(first, last):
    """Make the cells of the months ``first`` to ``last`` ("YYYY-MM") current; months after
    the running one have nothing to compute. Commits what it computes."""
    last = min(last, periods.current_month())
    if first > last:
        return
    months = periods.months_between(first, last)
    known = dict(
        db.session.execute(
            sa.select(StatsMonth.month, StatsMonth.refreshed_at).where(
                StatsMonth.month >= first, StatsMonth.month <= last
            )
        ).all()
    )
    now = utcnow()
    stale = [month for month in months if not _is_current(month, known.get(month), now)]
    for run in _runs(stale):
        refresh(run)


def _runs(months):
    """Consecutive months in runs: each run is computed with one query per kind of fact."""
    runs = []
    for month in months:
        if runs and periods.months_between(runs[-1][-1], month)[1:] == [month]:
            runs[-1].append(month)
        else:
            runs.append([month])
    return runs


def compute(months):
    """The cells of consecutive ``months`` from the raw rows: {(month, type, center): dict}."""
    cut = queries.Slice(
        periods.month_start(int(months[0][:4]), int(months[0][5:7])), month_end(months[-1])
    )
    cells = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    for month, kind, center, count, value, seconds in queries.contract_cells(cut):
        cells[(month, kind, center)].update(contracts=count, value_fen=value, award_seconds=seconds)
    for month, kind, center, count in queries.task_cells(cut):
        cells[(month, kind, center)]["tasks"] = count
    for month, kind, center, count in queries.bid_cells(cut):
        cells[(month, kind, center)]["bids"] = count
    for key, money in queries.money_cells(cut).items():
        cells[key].update({f"{name}_fen": amount for name, amount in money.items()})
    return {key: figures for key, figures in cells.items() if key[0] in months}


def refresh(months):
    """Recompute and store the cells of consecutive ``months``, in a transaction of its own."""
    started = utcnow()
    cells = compute(months)
    try:
        with transaction():
            db.session.execute(sa.delete(StatsCell).where(StatsCell.month.in_(months)))
            db.session.execute(sa.delete(StatsMonth).where(StatsMonth.month.in_(months)))
            if cells:
                db.session.execute(
                    sa.insert(StatsCell),
                    [
                        dict(figures, month=month, contract_type=kind, center_id=center)
                        for (month, kind, center), figures in cells.items()
                    ],
                )
            db.session.execute(
                sa.insert(StatsMonth), [dict(month=m, refreshed_at=started) for m in months]
            )
    except IntegrityError:
        pass  # another process stored these months at the same time: theirs are as good
    except OperationalError:
        # SQLite busy with another writer for longer than its timeout: show what is stored,
        # the next reader computes it
        log.warning("statistics of %s not refreshed: the database is busy", months)


def cells(first, last, centers=None, contract_type=None):
    """The stored cells of the months ``first`` to ``last`` (made current first), for the
    centers (a select of ids, None for all) and the contract type (None for all)."""
    ensure(first, last)
    # plain tuples (attribute access like the model's), not tracked ORM objects: thousands of
    # them load many times faster
    query = sa.select(*StatsCell.__table__.c).where(
        StatsCell.month >= first, StatsCell.month <= last
    )
    if centers is not None:
        query = query.where(StatsCell.center_id.in_(centers))
    if contract_type is not None:
        query = query.where(StatsCell.contract_type == contract_type)
    return [Cell(*row) for row in db.session.execute(query)]
