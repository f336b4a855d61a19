"""``flask stats audit``: the published statistics pass it, and it finds what would be given
away if the rules were loosened."""

from crowdsource.stats import audit, public
from crowdsource.stats.disclosure import suppress_partition


def test_the_published_market_passes_the_audit(market, app):
    result = app.test_cli_runner().invoke(args=["stats", "audit"])
    assert result.exit_code == 0, result.output
    assert "pass the disclosure audit" in result.output


def only_the_rules_of_one_cell(year, rules, regions):
    """Publication as it was before the intruder check: each table on its own."""
    for partition in year.partitions:
        suppress_partition(list(partition.values()), rules)


def test_without_thresholds_the_audit_finds_the_single_transfer_contract(market, app, monkeypatch):
    # k = 1 and p = 0, and no check across tables: the one transfer contract of 2025 (Zibo's)
    # is its own cell, and anyone reads its value
    monkeypatch.setitem(app.config, "STATS_MIN_CONTRIBUTORS", 1)
    monkeypatch.setitem(app.config, "STATS_DOMINANCE_PERCENT", 0)
    monkeypatch.setattr(public, "protect", only_the_rules_of_one_cell)
    result = app.test_cli_runner().invoke(args=["stats", "audit"])
    assert result.exit_code == 1
    assert "anyone" in result.output and "12345.67 yuan" in result.output
    assert "problem(s) found" in result.output


def test_the_audit_reads_what_is_published_not_the_flags_behind_it(market, app):
    """Tables changed after their protection (a cell shown that the rules hide) fail."""
    from crowdsource.stats import periods

    tables = public.compute(periods.current_month_start())
    for row in tables["contracts-by-type"].rows:
        if row["year"] == 2025 and row["contract_type"] == "transfer":
            row.update(contracts=1, value_fen=1_234_567, suppressed=False, suppressed_by=None)
    problems = [str(problem) for problem in audit.audit(tables=tables)]
    assert any("contracts-by-type 2025/transfer" in p and "threshold" in p for p in problems)
    assert any(p.startswith("intruder") for p in problems)


def test_with_the_check_across_tables_even_loose_rules_give_nothing_away(market, app, monkeypatch):
    """With k = 1 and p = 0 the intruder check still hides what would be read exactly."""
    monkeypatch.setitem(app.config, "STATS_MIN_CONTRIBUTORS", 1)
    monkeypatch.setitem(app.config, "STATS_DOMINANCE_PERCENT", 0)
    result = app.test_cli_runner().invoke(args=["stats", "audit"])
    assert result.exit_code == 0, result.output
