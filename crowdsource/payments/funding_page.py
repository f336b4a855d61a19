"""The page of one funding (how to pay a milestone), rendered for its views: as it is, or with
the enterprise's refused report of its bank transfer shown again as typed, the message at the
field (see errors.refused)."""

from flask import render_template
from flask_login import current_user

from crowdsource.payments import providers, stripe_api, transfers
from crowdsource.payments.forms import TransferReportForm
from crowdsource.web import ConfirmForm


def render(started, status=200, report_form=None, card_paid=False):
    """The funding page for the current user under ``status``; ``report_form``: the report of
    the transfer as the user sent it (None: an empty one)."""
    contract = started.milestone.contract
    milestone = started.milestone
    return render_template(
        "payments/funding.html",
        funding=started,
        contract=contract,
        instructions=providers.get(started.provider).instructions(started),
        card_paid=card_paid,
        stripe_enabled=stripe_api.enabled(),
        confirm=ConfirmForm(),
        payment_status=transfers.status_of(milestone),
        deadline=transfers.deadline(milestone),
        report=transfers.latest_report(started),
        may_report=transfers.report_refusal(current_user, started) is None,
        report_form=report_form or TransferReportForm(formdata=None),
    ), status
