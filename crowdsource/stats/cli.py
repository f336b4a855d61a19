"""``flask stats refresh``: compute the monthly summary ahead of the first reader (after a
deployment or an import of old data); the pages and the API keep it current on their own."""

import click

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
