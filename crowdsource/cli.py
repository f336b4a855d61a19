"""Flask commands: centers, users, demo data."""

import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from crowdsource.accounts import centers as center_services
from crowdsource.accounts import services as account_services
from crowdsource.accounts.models import CenterLevel
from crowdsource.db import transaction, utcnow
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
            _fail(
                f"No center {parent!r} to be the parent: add it first (e.g. "
                f"`flask centers add {parent} 山东省 Shandong --level province`); "
                "`flask centers list` shows the centers there are."
            )
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


#: where `flask users create-admin` finds the password when not on standard input
ADMIN_PASSWORD_VARIABLE = "CROWDSOURCE_ADMIN_PASSWORD"


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default="Administrator", help="Display name.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input.",
)
def create_admin(email, name, password_stdin):
    """Create an admin account, or make an existing account an admin.

    The password of a new account is read from standard input with --password-stdin, else
    from the variable CROWDSOURCE_ADMIN_PASSWORD, else asked for when a terminal is attached.
    The address and the password must pass the registration form's checks.
    """
    problem = _email_problem(email)
    if problem:
        _fail(f"Not a valid email address: {email!r}. {problem}")
    with transaction():
        user = account_services.find_user_by_email(email)
        if user is not None:
            user.is_admin = True
            click.echo(f"{user.email} is an admin (an existing account: its password is kept).")
            return
    password = _admin_password(password_stdin)
    try:
        with transaction():
            user = account_services.register_user(email, password, name, email_verified_at=utcnow())
            user.is_admin = True
    except DomainError as error:
        _fail(error.message)
    click.echo(f"{user.email} is an admin.")


def _email_problem(email):
    """Why ``email`` would be refused by the registration form (its message), or None."""
    from werkzeug.datastructures import MultiDict
    from wtforms import Form

    from crowdsource.accounts.forms import RegistrationForm

    class EmailOnly(Form):
        email = RegistrationForm.email  # the registration form's field, with its validators

    form = EmailOnly(MultiDict({"email": email}))
    form.validate()
    return " ".join(str(message) for message in form.errors.get("email", [])) or None


def _admin_password(from_stdin):
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            _fail("--password-stdin: standard input has no password (its first line is empty).")
        return password
    if os.environ.get(ADMIN_PASSWORD_VARIABLE):
        return os.environ[ADMIN_PASSWORD_VARIABLE]
    if not sys.stdin.isatty():
        _fail(
            "No password: no terminal to ask on. Give it on standard input with "
            f"--password-stdin, or in the variable {ADMIN_PASSWORD_VARIABLE}."
        )
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


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


def _refuse_demo_in_production(force):
    if current_app.config["CROWDSOURCE_ENV"] == "production" and not force:
        _fail(
            "CROWDSOURCE_ENV=production: the demo data adds accounts that anyone can log in "
            "to with the published demo password. Nothing was changed; use --force to seed "
            "it anyway (never on a site with real users)."
        )


#: --force of the demo commands
force_option = click.option(
    "--force", is_flag=True, help="Seed even when CROWDSOURCE_ENV=production."
)


@click.command("seed-demo")
@force_option
def seed_demo(force):
    """Create the demo centers, organizations and users (again and again: idempotent).
    Refused in production unless --force."""
    from crowdsource import demo

    _refuse_demo_in_production(force)
    with transaction():
        created = demo.seed()
    click.echo("Demo data created." if created else "Demo data already present.")


@click.command("seed-demo-history")
@force_option
def seed_demo_history(force):
    """Give the demo market two years of completed contracts (after seed-demo; idempotent).
    Refused in production unless --force."""
    from crowdsource import demo_history

    _refuse_demo_in_production(force)
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
    """Verify every invariant of the ledger and of escrow, every account against the chart of
    accounts, and reconcile every entry with its business event (and every event with its
    entry); exit non-zero on any violation."""
    from crowdsource.payments import reconcile

    problems = reconcile.everything()
    for problem in problems:
        click.echo(f"VIOLATION: {problem}", err=True)
    if problems:
        raise click.exceptions.Exit(1)
    click.echo(
        "Ledger check passed: every entry balances, balances match their postings, "
        "no forbidden negative balance, every account is in the chart of accounts, escrow "
        "matches every milestone, every entry matches its business event."
    )


def register_commands(app):
    app.cli.add_command(sweep)
    app.cli.add_command(db_grant)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(centers_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(seed_demo_history)
