"""The limits on signing in, which slow a guesser without locking the owner out.

Each try is counted before its password is checked (crowdsource.throttle counts atomically),
so concurrent requests get no more tries than the limits allow; a refused try counts nothing.

- **The account, from one client address**: ``LOGIN_THROTTLE_FAILURES`` tries within one *run*
  of an account, per ``LOGIN_THROTTLE_MINUTES``. A run ends at the account's last successful
  sign-in — a password reset records one too (crowdsource.accounts.links) — so the owner who
  signs in or resets starts a new one. A stranger who knows the address of an account uses up
  only their own tries: the owner, elsewhere, signs in.
- **The account, from everywhere**: ``LOGIN_THROTTLE_ACCOUNT_FAILURES`` tries within the run, a
  much higher ceiling against guessing from many addresses. Should it be reached, the owner's
  way in is a password reset (never limited by it), which ends the run.
- **The client address**: ``LOGIN_THROTTLE_CLIENT_FAILURES`` failed sign-ins, any accounts;
  and, against spraying one password over many accounts, ``LOGIN_THROTTLE_SPRAY_ACCOUNTS``
  accounts tried (a new run of each counts once) per ``LOGIN_THROTTLE_SPRAY_MINUTES``. A
  successful sign-in gives its hits back: colleagues behind one address are not counted.
"""

import dataclasses

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from crowdsource import throttle
from crowdsource.accounts.models import LoginAttempt
from crowdsource.db import db
from crowdsource.errors import TooManyAttempts

#: rules whose refusal concerns the client, not the account
CLIENT_SCOPES = {"login-client", "login-spray"}


@dataclasses.dataclass
class Try:
    """One counted try; :meth:`succeeded` gives back what the client's limits counted."""

    of_client: list

    def succeeded(self):
        for spent in self.of_client:
            spent.give_back()
        self.of_client = []


def run_of(email):
    """The account's current run: the time of its last successful sign-in (or reset)."""
    last = db.session.scalar(
        sa.select(sa.func.max(LoginAttempt.at)).where(
            LoginAttempt.email == email, LoginAttempt.succeeded.is_(True)
        )
    )
    return "0" if last is None else str(int(last.timestamp() * 1_000_000))


def begin(email, client):
    """Count a try at ``email`` (normalised) from ``client`` (an address); raises
    TooManyAttempts, counting nothing, past any limit."""
    run = f"{email}/{run_of(email)}"
    of_client, counted = [], []
    try:
        of_client.append(throttle.spend("login-client", client=client))
        account = throttle.spend("login-account", account=run, pair=f"{run}/{client}")
        counted.append(account)
        if account.first("login-pair"):  # this client's first try in the account's run
            of_client.append(throttle.spend("login-spray", client=client))
    except throttle.Exhausted as refusal:
        for spent in of_client + counted:  # a refused try is no try: the next is a first again
            spent.give_back()
        raise _refusal(refusal) from None
    return Try(of_client)


def _refusal(refusal):
    minutes = max(1, (refusal.retry_after + 59) // 60)
    if refusal.scope in CLIENT_SCOPES:
        message = _l(
            "Too many failed logins from your address. Try again in %(minutes)d minutes.",
            minutes=minutes,
        )
    else:
        message = _l(
            "Too many failed logins for this account. Try again in %(minutes)d minutes.",
            minutes=minutes,
        )
    return TooManyAttempts(message, retry_after=refusal.retry_after)
