"""The contract page (with deliveries and messages), its printable document, files on it and
the list of a user's contracts."""

import io

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource.accounts import authz
from crowdsource.contracts import bp, document, files, messages, page, services
from crowdsource.contracts.forms import MessageForm
from crowdsource.contracts.models import Contract, ContractFile
from crowdsource.db import db, transaction
from crowdsource.errors import DomainError, NotFound, refused
from crowdsource.i18n import current_language
from crowdsource.throttle import limit_content
from crowdsource.web import QueryArguments, get_or_404


def _visible(contract_id):
    """The contract, if the current user may see it (else a 404, as if there were none)."""
    contract = get_or_404(Contract, contract_id)
    if not services.can_view(current_user, contract):
        abort(404)
    return contract


@bp.get("/contracts/<int:contract_id>")
@login_required
def show(contract_id):
    arguments = QueryArguments()
    messages_page = arguments.page()  # 1: the latest messages
    return page.render(_visible(contract_id), arguments.status, messages_page=messages_page)


@bp.post("/contracts/<int:contract_id>/messages")
@login_required
def post_message(contract_id):
    """A party writes to the other side (with files); a refused message comes back as typed."""
    contract = _visible(contract_id)
    form = MessageForm()
    typed = page.Typed("write_message", form)
    if not form.validate_on_submit():
        return page.render(contract, 400, typed)
    try:
        limit_content("messages", current_user)
        with transaction():
            messages.post_message(current_user, contract, form.body.data, form.files.data)
    except DomainError as error:
        if not page.shows(current_user, contract, typed):
            raise
        return page.render(contract, refused(form, error), typed)
    flash(_("Your message has been sent."), "success")
    return redirect(url_for("contracts.show", contract_id=contract.id, _anchor="messages"))


@bp.get("/contracts/<int:contract_id>/document.pdf")
@login_required
def contract_document(contract_id):
    """The printable contract, in the reader's language unless ``?lang=zh|en`` asks for one."""
    contract = _visible(contract_id)
    requested = QueryArguments(download=True).choice("lang", list(document.LANGUAGES))
    language = document.language_of(requested, current_language())
    response = send_file(
        io.BytesIO(document.render(contract, language)),
        mimetype="application/pdf",
        download_name=f"{contract.number}.pdf",
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _stored(file_id):
    """A contract file and its path on disk, for those who may see its contract (else 404)."""
    record = get_or_404(ContractFile, file_id)
    try:
        path = files.path_of(current_user, record)
    except NotFound:
        abort(404)
    if not path.exists():
        abort(404)
    return record, path


@bp.get("/contract-files/<int:file_id>")
@login_required
def download_file(file_id):
    """A file of a delivery, message or dispute, for those who may see its contract."""
    record, path = _stored(file_id)
    return send_file(
        path,
        mimetype=record.content_type,
        as_attachment=True,
        download_name=record.original_name,
    )


@bp.get("/contract-files/<int:file_id>/preview")
@login_required
def preview_file(file_id):
    """An image or PDF of a contract shown in the browser (the page's <img>, the browser's PDF
    viewer) instead of downloaded; other types have no preview (404)."""
    record, path = _stored(file_id)
    if not files.previewable(record):
        abort(404)
    response = send_file(path, mimetype=record.content_type, download_name=record.original_name)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


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
