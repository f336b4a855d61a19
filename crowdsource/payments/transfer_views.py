"""The enterprise's report of its bank transfer ("I have transferred", with the receipt) and
the receipt's download, for the parties of the contract and the managers of its center. The
manager's answers are on the managers' page (manage_views.py)."""

from flask import abort, flash, redirect, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource.contracts import sides
from crowdsource.db import transaction
from crowdsource.errors import DomainError, NotFound, refused
from crowdsource.payments import bp, funding_page, transfers
from crowdsource.payments.forms import TransferReportForm
from crowdsource.payments.models import Funding, TransferReport
from crowdsource.web import get_or_404, require_valid


@bp.post("/fundings/<int:funding_id>/report")
@login_required
def report_transfer(funding_id):
    """The enterprise reports its transfer; a refused report comes back as typed."""
    started = get_or_404(Funding, funding_id)
    if sides.side_of(current_user, started.milestone.contract) is None:
        abort(404)
    form = TransferReportForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            require_valid(form)
        return funding_page.render(started, 400, form)
    try:
        with transaction():
            transfers.report_transfer(
                current_user, started, form.amount.fen, form.transferred_on.data, form.receipt.data
            )
    except DomainError as error:
        if error.field not in form:
            raise
        return funding_page.render(started, refused(form, error), form)
    flash(
        _("Thank you. A manager of the innovation center checks the transfer's arrival."), "success"
    )
    return redirect(url_for("payments.show_funding", funding_id=started.id))


@bp.get("/transfer-reports/<int:report_id>/receipt")
@login_required
def transfer_receipt(report_id):
    """The receipt of a reported transfer: an image is shown (the managers' page previews it),
    a PDF downloaded."""
    report = get_or_404(TransferReport, report_id)
    try:
        path = transfers.receipt_path(current_user, report)
    except NotFound:
        abort(404)
    if not path.exists():
        abort(404)
    response = send_file(
        path,
        mimetype=report.receipt_content_type,
        as_attachment=not report.is_image,
        download_name=report.receipt_name,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
