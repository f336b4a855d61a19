"""The monthly summary the figures come from: computed when first needed, the running month
recomputed once it is older than STATS_REFRESH_SECONDS, an ended month final."""

import datetime as dt

import sqlalchemy as sa

from crowdsource.db import db, transaction, utcnow
from crowdsource.stats import periods, summary
from crowdsource.stats.models import StatsCell, StatsMonth


def running_month_contracts():
    month = periods.current_month()
    return sum(cell.contracts for cell in summary.cells(month, month))


def test_the_running_month_is_recomputed_once_older_than_the_refresh_time(
    app, market, people, make_task, make_bid, monkeypatch
):
    from crowdsource.bids import offers
    from crowdsource.tasks import services as task_services

    monkeypatch.setitem(app.config, "STATS_REFRESH_SECONDS", 3600)
    assert running_month_contracts() == 0
    task = make_task(people.owner, people.enterprise)
    bid = make_bid(people.solver, task)
    with transaction():
        task_services.close_bidding(people.owner, task)
        offers.sign_both(people.owner, bid)
    assert running_month_contracts() == 0  # computed less than an hour ago
    monkeypatch.setitem(app.config, "STATS_REFRESH_SECONDS", 0)
    assert running_month_contracts() == 1


def test_an_ended_month_computed_after_its_end_is_final(app, market, monkeypatch):
    summary.ensure("2025-01", "2025-12")
    stored = db.session.scalar(sa.select(StatsMonth).where(StatsMonth.month == "2025-03"))
    assert stored.refreshed_at > summary.month_end("2025-03")
    before = stored.refreshed_at
    summary.ensure("2025-01", "2025-12")
    db.session.expire_all()
    assert db.session.get(StatsMonth, "2025-03").refreshed_at == before


def test_a_month_computed_before_it_ended_is_computed_again(app, market):
    summary.ensure("2025-01", "2025-12")
    with transaction():
        stale = db.session.get(StatsMonth, "2025-03")
        stale.refreshed_at = dt.datetime(2025, 3, 20, tzinfo=dt.UTC)
        db.session.execute(sa.delete(StatsCell).where(StatsCell.month == "2025-03"))
    summary.ensure("2025-01", "2025-12")
    cells = summary.cells("2025-03", "2025-03")
    assert sum(cell.contracts for cell in cells) == 2
    assert db.session.get(StatsMonth, "2025-03").refreshed_at > utcnow() - dt.timedelta(hours=1)


def test_flask_stats_refresh_computes_every_month_ahead(app, market):
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["stats", "refresh"])
    assert result.exit_code == 0, result.output
    assert "Statistics summarized from" in result.output
    months = set(db.session.scalars(sa.select(StatsMonth.month)))
    assert {"2024-03", "2025-12", periods.current_month()} <= months
    result = app.test_cli_runner().invoke(args=["stats", "refresh", "--all"])
    assert result.exit_code == 0, result.output
