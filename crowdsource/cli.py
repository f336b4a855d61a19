"""Flask commands: centers, users, demo data."""

import click
from flask.cli import AppGroup

from crowdsource.accounts import centers as center_services
from crowdsource.accounts import services as account_services
from crowdsource.accounts.models import CenterLevel
from crowdsource.db import transaction
from crowdsource.errors import DomainError

centers_cli = AppGroup("centers", help="Innovation centers.")
users_cli = AppGroup("users", help="User accounts.")


def _fail(message):
    raise click.ClickException(str(message))


@centers_cli.command("add")
@click.argument("code")
@click.argument("name_zh")
@click.argument("name_en")
@click.option(
    "--level",
    type=click.Choice([level.value for level in CenterLevel]),
    required=True,
    help="province, city or county",
)
@click.option("--parent", help="Code or name of the parent center (not for a province).")
def add_center(code, name_zh, name_en, level, parent):
    """Add a center CODE with its Chinese and English names."""
    parent_center = None
    if parent:
        parent_center = center_services.find_center(parent)
        if parent_center is None:
            _fail(f"No center {parent!r}.")
    try:
        with transaction():
            center = center_services.add_center(code, name_zh, name_en, level, parent_center)
    except DomainError as error:
        _fail(error.message)
    click.echo(f"Added center {center.code} ({center.name_zh} / {center.name_en}).")


@centers_cli.command("list")
def list_centers():
    """Show the center tree."""
    for center in center_services.all_centers():
        click.echo(f"{'  ' * center.depth}{center.code}  {center.name_zh} / {center.name_en}")


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default="Administrator", help="Display name.")
@click.password_option(help="Password (asked for if not given).")
def create_admin(email, name, password):
    """Create an admin account, or make an existing account an admin."""
    try:
        with transaction():
            user = account_services.find_user_by_email(email)
            if user is None:
                user = account_services.register_user(email, password, name)
            user.is_admin = True
    except DomainError as error:
        _fail(error.message)
    click.echo(f"{user.email} is an admin.")


@users_cli.command("make-manager")
@click.argument("email")
@click.argument("center")
def make_manager(email, center):
    """Make the user with EMAIL a manager of CENTER (code or name) and its sub-centers."""
    with transaction():
        user = account_services.find_user_by_email(email)
        if user is None:
            _fail(f"No user with email {email}.")
        found = center_services.find_center(center)
        if found is None:
            _fail(f"No center {center!r}.")
        center_services.make_manager(user, found)
    click.echo(f"{user.email} manages {found.name_en} and its sub-centers.")


@click.command("seed-demo")
def seed_demo():
    """Create the demo centers, organizations and users (again and again: idempotent)."""
    from crowdsource import demo

    with transaction():
        created = demo.seed()
    click.echo("Demo data created." if created else "Demo data already present.")


@click.command("seed-demo-history")
def seed_demo_history():
    """Give the demo market two years of completed contracts (after seed-demo; idempotent)."""
    from crowdsource import demo_history

    with transaction():
        created = demo_history.seed_history()
    click.echo("Demo history created." if created else "Demo history already present.")


@click.command("sweep")
@click.option("--every", type=int, default=0, help="Repeat every N seconds (for production).")
def sweep(every):
    """End bidding on tasks whose deadline passed (and every other time-based transition)."""
    import time

    from crowdsource.sweep import sweep_due

    while True:
        click.echo(f"Sweep: {sweep_due()}")
        if not every:
            return
        time.sleep(every)


@click.command("db-grant")
@click.argument("role")
def db_grant(role):
    """Give ROLE, the role the app connects as, exactly its rights: read and write rows, use
    sequences; no ALTER, DROP, TRUNCATE or disabling triggers. Run as the owner after
    `flask db upgrade` (PostgreSQL; idempotent)."""
    import sqlalchemy as sa

    from crowdsource.db import db
    from crowdsource.db_roles import UnsafeRole, grant_app_role

    if db.engine.dialect.name != "postgresql":
        _fail("Roles are a PostgreSQL matter: DATABASE_URL is not a PostgreSQL database.")
    try:
        with db.engine.begin() as connection:
            schema = grant_app_role(connection, role)
            owner = connection.scalar(sa.text("SELECT current_user"))
    except UnsafeRole as error:
        _fail(error)
    click.echo(
        f"{role} may read and write the rows of every table of schema {schema} and use its "
        f"sequences, now and those {owner} creates later; nothing else."
    )


ledger_cli = AppGroup("ledger", help="The double-entry ledger.")


@ledger_cli.command("check")
def ledger_check():
    """Verify every invariant of the ledger and of escrow, and reconcile every entry with its
    business event (and every event with its entry); exit non-zero on any violation."""
    from crowdsource.payments import reconcile

    problems = reconcile.everything()
    for problem in problems:
        click.echo(f"VIOLATION: {problem}", err=True)
    if problems:
        raise click.exceptions.Exit(1)
    click.echo(
        "Ledger check passed: every entry balances, balances match their postings, "
        "no forbidden negative balance, escrow matches every milestone, every entry matches "
        "its business event."
    )


def register_commands(app):
    app.cli.add_command(sweep)
    app.cli.add_command(db_grant)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(centers_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(seed_demo_history)
