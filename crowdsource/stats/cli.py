"""``flask stats refresh``: compute the monthly summary ahead of the first reader (after a
deployment or an import of old data); the pages and the API keep it current on their own.

``flask stats audit``: check the published statistics against the disclosure rules and the
intruder check (audit.py); exits 1 when anything could be worked back to a party."""

import sys
import time

import click

from crowdsource.stats import audit as auditing
from crowdsource.stats import bp, periods, summary


@bp.cli.command("refresh")
@click.option("--all", "everything", is_flag=True, help="Recompute every month, even final ones.")
def refresh(everything):
    """Bring the statistics' monthly summary up to date."""
    first = summary.first_month()
    if first is None:
        click.echo("Nothing to summarize yet.")
        return
    last = periods.current_month()
    if everything:
        summary.refresh(periods.months_between(first, last))
    else:
        summary.ensure(first, last)
    click.echo(f"Statistics summarized from {first} to {last}.")


@bp.cli.command("audit")
def audit():
    """Check that no published figure can be worked back to a party's contract."""
    started = time.monotonic()
    problems = auditing.audit()
    for problem in problems:
        click.echo(str(problem))
    seconds = time.monotonic() - started
    if problems:
        click.echo(f"{len(problems)} problem(s) found in {seconds:.1f} s.", err=True)
        sys.exit(1)
    click.echo(f"The published statistics pass the disclosure audit ({seconds:.1f} s).")
