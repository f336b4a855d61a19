"""The contract page (with deliveries and messages), its printable document, files on it and
the list of a user's contracts."""

import io

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource.accounts import authz
from crowdsource.contracts import (
    bp,
    deliveries,
    document,
    files,
    messages,
    services,
    timeline,
    workflow,
)
from crowdsource.contracts.forms import DeliveryForm, MessageForm, ReasonForm
from crowdsource.contracts.models import Contract, ContractFile
from crowdsource.contracts.sides import side_of
from crowdsource.db import db, transaction
from crowdsource.disputes.models import Dispute
from crowdsource.errors import NotFound
from crowdsource.i18n import current_language
from crowdsource.payments import commission, statements
from crowdsource.web import ConfirmForm, get_or_404


def _visible(contract_id):
    """The contract, if the current user may see it (else a 404, as if there were none)."""
    contract = get_or_404(Contract, contract_id)
    if not services.can_view(current_user, contract):
        abort(404)
    return contract


@bp.get("/contracts/<int:contract_id>")
@login_required
def show(contract_id):
    contract = _visible(contract_id)
    milestones, totals = statements.contract_money(contract)
    conversation = messages.of_contract(contract)
    disputes = {
        dispute.milestone_id: dispute
        for dispute in db.session.scalars(
            sa.select(Dispute).where(Dispute.contract_id == contract.id)
        )
    }
    return render_template(
        "contracts/show.html",
        contract=contract,
        side=side_of(current_user, contract),
        actions=workflow.allowed_actions(current_user, contract),
        awaiting_funding=workflow.awaiting_first_funding(contract),
        milestones=milestones,
        totals=totals,
        split=commission.split_each([m.amount_fen for m in contract.milestones], contract.rates),
        delivery_form=DeliveryForm(),
        reason_form=ReasonForm(),
        message_form=MessageForm(),
        confirm=ConfirmForm(),
        deliveries=deliveries.by_milestone(contract),
        messages=conversation,
        trail=timeline.of_contract(
            contract, conversation, [dispute.id for dispute in disputes.values()]
        ),
        disputes=disputes,
    )


@bp.post("/contracts/<int:contract_id>/messages")
@login_required
def post_message(contract_id):
    """A party writes to the other side (with files)."""
    contract = _visible(contract_id)
    form = MessageForm()
    if not form.validate_on_submit():
        abort(400, " ".join(str(m) for errors in form.errors.values() for m in errors))
    with transaction():
        messages.post_message(current_user, contract, form.body.data, form.files.data)
    flash(_("Your message has been sent."), "success")
    return redirect(url_for("contracts.show", contract_id=contract.id, _anchor="messages"))


@bp.get("/contracts/<int:contract_id>/document.pdf")
@login_required
def contract_document(contract_id):
    """The printable contract, in the reader's language unless ``?lang=zh|en`` asks for one."""
    contract = _visible(contract_id)
    language = document.language_of(request.args.get("lang"), current_language())
    response = send_file(
        io.BytesIO(document.render(contract, language)),
        mimetype="application/pdf",
        download_name=f"{contract.number}.pdf",
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/contract-files/<int:file_id>")
@login_required
def download_file(file_id):
    """A file of a delivery, message or dispute, for those who may see its contract."""
    record = get_or_404(ContractFile, file_id)
    try:
        path = files.path_of(current_user, record)
    except NotFound:
        abort(404)
    if not path.exists():
        abort(404)
    return send_file(
        path,
        mimetype=record.content_type,
        as_attachment=True,
        download_name=record.original_name,
    )


@bp.get("/contracts")
@login_required
def mine():
    organizations = authz.organization_ids_of(current_user)
    condition = sa.or_(
        Contract.solver_id == current_user.id,
        Contract.payee_user_id == current_user.id,
        Contract.client_organization_id.in_(organizations),
        Contract.agency_id.in_(organizations),
        Contract.payee_organization_id.in_(organizations),
    )
    contracts = db.session.scalars(
        sa.select(Contract)
        .where(condition)
        .options(sa.orm.joinedload(Contract.task), sa.orm.joinedload(Contract.client_organization))
        .order_by(Contract.signed_at.desc())
    ).all()
    return render_template("contracts/mine.html", contracts=contracts)
