"""The portfolio and certifications: managing them (the owner's editors only), the enterprise's
consent to a contract link, and the public files of a profile."""

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from crowdsource.accounts.models import Organization, User
from crowdsource.db import transaction
from crowdsource.errors import DomainError, refused
from crowdsource.profiles import bp, services
from crowdsource.profiles.forms import CertificationForm, ContractLinkForm, PortfolioItemForm
from crowdsource.profiles.models import Certification, PortfolioFile, PortfolioItem
from crowdsource.web import ConfirmForm, get_or_404, require_valid

OWNER_KINDS = {"user": User, "org": Organization}


def _owner(kind, owner_id):
    owner = get_or_404(OWNER_KINDS[kind], owner_id)
    if not services.may_edit(current_user, owner):
        abort(404)
    return owner


def _kind(owner):
    return "org" if isinstance(owner, Organization) else "user"


def _manage_url(owner):
    return url_for("profiles.manage", kind=_kind(owner), owner_id=owner.id)


def _profile_url(owner):
    if isinstance(owner, Organization):
        return url_for("accounts.organization", org_id=owner.id)
    return url_for("accounts.profile", user_id=owner.id)


def _manage_page(owner, item_form=None, certification_form=None, status=200):
    html = render_template(
        "profiles/manage.html",
        owner=owner,
        kind=_kind(owner),
        profile_url=_profile_url(owner),
        items=services.items_of(owner),
        certifications=services.certifications_of(owner),
        item_form=item_form or PortfolioItemForm(formdata=None),
        certification_form=certification_form or CertificationForm(formdata=None),
        confirm=ConfirmForm(),
    )
    return html, status


@bp.get("/portfolio/<any(user, org):kind>/<int:owner_id>")
@login_required
def manage(kind, owner_id):
    return _manage_page(_owner(kind, owner_id))


@bp.post("/portfolio/<any(user, org):kind>/<int:owner_id>/items")
@login_required
def add_item(kind, owner_id):
    owner = _owner(kind, owner_id)
    form = PortfolioItemForm()
    if not form.validate_on_submit():
        return _manage_page(owner, item_form=form, status=400)
    try:
        with transaction():
            item = services.add_item(
                current_user, owner, form.title.data, form.description.data, form.files.data
            )
    except DomainError as error:
        return _manage_page(owner, item_form=form, status=refused(form, error))
    flash(_("“%(title)s” has been added to your portfolio.", title=item.title), "success")
    return redirect(url_for("profiles.edit_item", item_id=item.id))


def _item(item_id):
    item = get_or_404(PortfolioItem, item_id)
    if not services.may_edit(current_user, item.owner):
        abort(404)
    return item


def _item_page(item, form=None, link_form=None, status=200):
    link_form = link_form or ContractLinkForm(formdata=None)
    link_form.contract_id.choices = _contract_choices(item.owner)
    html = render_template(
        "profiles/item.html",
        item=item,
        manage_url=_manage_url(item.owner),
        form=form or PortfolioItemForm(formdata=None, obj=item),
        link_form=link_form,
        confirm=ConfirmForm(),
    )
    return html, status


def _contract_choices(owner):
    return [
        SelectChoice(contract.id, f"{contract.number} · {contract.task.title}")
        for contract in services.linkable_contracts(owner)
    ]


@bp.route("/portfolio/items/<int:item_id>", methods=["GET", "POST"])
@login_required
def edit_item(item_id):
    item = _item(item_id)
    if request.method == "GET":
        return _item_page(item)
    form = PortfolioItemForm()
    if not form.validate_on_submit():
        return _item_page(item, form, status=400)
    try:
        with transaction():
            services.update_item(
                current_user, item, form.title.data, form.description.data, form.files.data
            )
    except DomainError as error:
        return _item_page(item, form, status=refused(form, error))
    flash(_("The item has been saved."), "success")
    return redirect(url_for("profiles.edit_item", item_id=item.id))


@bp.post("/portfolio/items/<int:item_id>/move/<any(up, down):direction>")
@login_required
def move_item(item_id, direction):
    item = _item(item_id)
    require_valid(ConfirmForm())
    with transaction():
        services.move_item(current_user, item, -1 if direction == "up" else 1)
    return redirect(_manage_url(item.owner))


@bp.post("/portfolio/items/<int:item_id>/delete")
@login_required
def delete_item(item_id):
    item = _item(item_id)
    owner = item.owner
    require_valid(ConfirmForm())
    with transaction():
        services.delete_item(current_user, item)
    flash(_("The item has been deleted."), "info")
    return redirect(_manage_url(owner))


@bp.post("/portfolio/files/<int:file_id>/delete")
@login_required
def delete_file(file_id):
    portfolio_file = get_or_404(PortfolioFile, file_id)
    item = _item(portfolio_file.item_id)
    require_valid(ConfirmForm())
    with transaction():
        services.remove_file(current_user, portfolio_file)
    return redirect(url_for("profiles.edit_item", item_id=item.id))


@bp.post("/portfolio/items/<int:item_id>/propose")
@login_required
def propose_contract(item_id):
    item = _item(item_id)
    form = ContractLinkForm()
    form.contract_id.choices = _contract_choices(item.owner)
    if not form.validate_on_submit():
        return _item_page(item, link_form=form, status=400)
    try:
        with transaction():
            services.propose_contract(current_user, item, form.contract_id.data)
    except DomainError as error:
        return _item_page(item, link_form=form, status=refused(form, error))
    flash(_("The enterprise has been asked to agree to showing the contract."), "success")
    return redirect(url_for("profiles.edit_item", item_id=item.id))


# --- the enterprise side's consent, and withdrawing the link --------------------------------


@bp.get("/portfolio/items/<int:item_id>/contract")
@login_required
def contract_link(item_id):
    """What the enterprise side is asked to agree to (or has agreed to)."""
    item = get_or_404(PortfolioItem, item_id)
    if not (
        services.may_consent(current_user, item) or services.may_edit(current_user, item.owner)
    ):
        abort(404)
    return render_template(
        "profiles/contract_link.html",
        item=item,
        profile_url=_profile_url(item.owner),
        may_consent=services.may_consent(current_user, item),
        may_withdraw=services.may_withdraw(current_user, item),
        confirm=ConfirmForm(),
    )


@bp.post("/portfolio/items/<int:item_id>/consent")
@login_required
def consent_contract(item_id):
    item = get_or_404(PortfolioItem, item_id)
    require_valid(ConfirmForm())
    with transaction():
        services.consent_contract(current_user, item)
    flash(_("The contract now shows on the profile with this item."), "success")
    return redirect(url_for("profiles.contract_link", item_id=item.id))


@bp.post("/portfolio/items/<int:item_id>/withdraw")
@login_required
def withdraw_contract(item_id):
    item = get_or_404(PortfolioItem, item_id)
    require_valid(ConfirmForm())
    editor = services.may_edit(current_user, item.owner)
    with transaction():
        services.withdraw_contract(current_user, item)
    flash(_("The contract no longer shows with this item."), "info")
    if editor:
        return redirect(url_for("profiles.edit_item", item_id=item.id))
    return redirect(_profile_url(item.owner))


# --- certifications ------------------------------------------------------------------------


@bp.post("/portfolio/<any(user, org):kind>/<int:owner_id>/certifications")
@login_required
def add_certification(kind, owner_id):
    owner = _owner(kind, owner_id)
    form = CertificationForm()
    if not form.validate_on_submit():
        return _manage_page(owner, certification_form=form, status=400)
    try:
        with transaction():
            services.add_certification(
                current_user,
                owner,
                form.name.data,
                form.issuer.data,
                form.year.data,
                next(iter(form.files.data or []), None),
            )
    except DomainError as error:
        return _manage_page(owner, certification_form=form, status=refused(form, error))
    flash(_("The certification has been added."), "success")
    return redirect(_manage_url(owner))


@bp.post("/certifications/<int:certification_id>/delete")
@login_required
def delete_certification(certification_id):
    certification = get_or_404(Certification, certification_id)
    owner = certification.owner
    if not services.may_edit(current_user, owner):
        abort(404)
    require_valid(ConfirmForm())
    with transaction():
        services.delete_certification(current_user, certification)
    flash(_("The certification has been removed."), "info")
    return redirect(_manage_url(owner))


# --- public files --------------------------------------------------------------------------


def _send(path, content_type, name, inline):
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype=content_type, as_attachment=not inline, download_name=name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _public(owner):
    if owner is None or (isinstance(owner, User) and not owner.active):
        abort(404)


@bp.get("/portfolio/files/<int:file_id>")
def portfolio_file(file_id):
    """A file of a portfolio item: public like the profile; images are shown inline, other
    files downloaded. Served only from the portfolio's own table: never a contract's file."""
    record = get_or_404(PortfolioFile, file_id)
    _public(record.item.owner)
    return _send(
        services.public_path(record.stored_name),
        record.content_type,
        record.original_name,
        inline=record.is_image,
    )


@bp.get("/certifications/<int:certification_id>/file")
def certification_file(certification_id):
    certification = get_or_404(Certification, certification_id)
    _public(certification.owner)
    if not certification.stored_name:
        abort(404)
    return _send(
        services.public_path(certification.stored_name),
        certification.content_type,
        certification.original_name,
        inline=services.is_image(certification.content_type),
    )


@bp.app_template_global("showcase_of")
def showcase_of(user=None, organization=None):
    """What a public profile shows beyond the credit profile: the portfolio, certifications
    and whether the viewer may edit them."""
    owner = user or organization
    return {
        "items": services.items_of(owner),
        "certifications": services.certifications_of(owner),
        "editable": services.may_edit(current_user, owner),
        "manage_url": _manage_url(owner),
    }
