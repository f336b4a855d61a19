"""Dispute pages: opening a dispute on a milestone, the case page (parties and managers), the
managers' queue, and every step of the case."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource.accounts import authz
from crowdsource.contracts import files, timeline
from crowdsource.contracts import services as contracts
from crowdsource.contracts.models import ContractFile, Milestone
from crowdsource.db import db, transaction
from crowdsource.disputes import bp, services
from crowdsource.disputes.forms import (
    AppealRulingForm,
    InfoRequestForm,
    OpenDisputeForm,
    PostForm,
    ReasonForm,
    RulingForm,
)
from crowdsource.errors import DomainError, NotAllowed, refused
from crowdsource.payments import escrow
from crowdsource.web import ConfirmForm, get_or_404, require_valid


def _case(dispute_id):
    return services.get_visible(current_user, dispute_id)


def _back(dispute):
    return redirect(url_for("disputes.show", dispute_id=dispute.id))


@bp.route("/milestones/<int:milestone_id>/dispute", methods=["GET", "POST"])
@login_required
def open_dispute(milestone_id):
    milestone = get_or_404(Milestone, milestone_id)
    contract = milestone.contract
    if not contracts.can_view(current_user, contract):
        abort(404)
    existing = services.of_milestone(milestone.id)
    if existing is not None:
        return _back(existing)
    refusal = services.opening_refusal(current_user, milestone)
    if isinstance(refusal, NotAllowed):
        abort(403)
    form = OpenDisputeForm()
    if form.validate_on_submit():
        try:
            with transaction():
                dispute = services.open_dispute(current_user, milestone.id, form.reason.data)
                files.attach(
                    current_user,
                    contract,
                    request.files.getlist(form.files.name),
                    dispute_entry=dispute.entries[0],
                )
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("The dispute is open and the escrow is frozen."), "warning")
            return _back(dispute)
    elif refusal is not None:
        flash(refusal.message, "warning")
        return redirect(url_for("contracts.show", contract_id=contract.id))
    status = 400 if form.errors else 200
    return render_template(
        "disputes/open.html", form=form, milestone=milestone, contract=contract
    ), status


@bp.get("/disputes/<int:dispute_id>")
@login_required
def show(dispute_id):
    return _show_page(_case(dispute_id))


def _show_page(dispute, status=200, **forms):
    """The case page; ``forms`` replace the empty forms of the page (a refused one, as typed)."""
    entry_ids = [entry.id for entry in dispute.entries]
    attached = {}
    if entry_ids:
        for record in db.session.scalars(
            db.select(ContractFile).where(ContractFile.dispute_entry_id.in_(entry_ids))
        ):
            attached.setdefault(record.dispute_entry_id, []).append(record)
    ruling = dispute.ruling
    parts = None
    if ruling is not None:
        client_fee, split, _refund = escrow.ruling_parts(dispute.milestone, ruling.release_fen)
        parts = {"client_fee": client_fee, "split": split}
    first = dispute.rulings[0] if dispute.rulings else None
    appeal_form = AppealRulingForm(
        formdata=None,
        release=first and f"{first.release_fen / 100:.2f}",
        refund=first and f"{first.refund_fen / 100:.2f}",
    )
    empty_forms = dict(
        post_form=PostForm(formdata=None),
        reason_form=ReasonForm(formdata=None),
        info_form=InfoRequestForm(formdata=None),
        ruling_form=RulingForm(formdata=None),
        appeal_form=appeal_form,
    )
    page = render_template(
        "disputes/show.html",
        dispute=dispute,
        side=services.side_of(current_user, dispute),
        actions=services.allowed_actions(current_user, dispute),
        overdue=services.is_overdue(dispute),
        attached=attached,
        parts=parts,
        trail=timeline.of_subjects(
            dispute.contract, [("dispute", dispute.id), ("milestone", dispute.milestone_id)]
        ),
        confirm=ConfirmForm(),
        **{**empty_forms, **forms},
    )
    return page, status


@bp.get("/disputes")
@login_required
def queue():
    cases = services.queue(current_user)
    if not cases and not (current_user.is_admin or authz.managed_centers(current_user)):
        abort(403)
    return render_template("disputes/queue.html", cases=cases)


def _step(dispute_id, action, form=None, message=None, slot=None):
    """Run one step of a case from a form. A refused form with typed input (``slot``: its name
    on the case page) comes back on the case page as typed, the message at its field, under a
    4xx; a button's refusal (no ``slot``) is a 4xx page with the reason."""
    dispute = _case(dispute_id)
    form = form or ConfirmForm()
    if not form.validate_on_submit():
        if slot is None:
            require_valid(form)
        return _show_page(dispute, 400, **{slot: form})
    try:
        with transaction():
            action(dispute, form)
    except DomainError as error:
        if slot is None:
            raise
        status = refused(form, error)
        return _show_page(_case(dispute_id), status, **{slot: form})
    if message:
        flash(message, "info")
    return _back(dispute)


@bp.post("/disputes/<int:dispute_id>/respond")
@login_required
def respond(dispute_id):
    def act(dispute, form):
        entry = services.respond(current_user, dispute.id, form.body.data)
        files.attach(
            current_user, dispute.contract, request.files.getlist("files"), dispute_entry=entry
        )

    return _step(dispute_id, act, PostForm(), _("Your response is recorded."), "post_form")


@bp.post("/disputes/<int:dispute_id>/post")
@login_required
def post(dispute_id):
    def act(dispute, form):
        entry = services.post(current_user, dispute.id, form.body.data)
        files.attach(
            current_user, dispute.contract, request.files.getlist("files"), dispute_entry=entry
        )

    return _step(dispute_id, act, PostForm(), slot="post_form")


@bp.post("/disputes/<int:dispute_id>/take")
@login_required
def take(dispute_id):
    return _step(
        dispute_id,
        lambda dispute, form: services.take(current_user, dispute.id),
        message=_("You have taken the case."),
    )


@bp.post("/disputes/<int:dispute_id>/ask")
@login_required
def ask(dispute_id):
    return _step(
        dispute_id,
        lambda dispute, form: services.request_information(
            current_user, dispute.id, form.side.data, form.body.data
        ),
        InfoRequestForm(),
        _("The party has been asked."),
        "info_form",
    )


@bp.post("/disputes/<int:dispute_id>/rule")
@login_required
def rule(dispute_id):
    return _step(
        dispute_id,
        lambda dispute, form: services.rule(
            current_user, dispute.id, form.release.fen, form.refund.fen, form.reason.data
        ),
        RulingForm(),
        _("The ruling is recorded. It becomes final when the appeal window ends."),
        "ruling_form",
    )


@bp.post("/disputes/<int:dispute_id>/waive")
@login_required
def waive(dispute_id):
    return _step(
        dispute_id,
        lambda dispute, form: services.waive_appeal(current_user, dispute.id),
        message=_("You have accepted the ruling."),
    )


@bp.post("/disputes/<int:dispute_id>/appeal")
@login_required
def appeal(dispute_id):
    return _step(
        dispute_id,
        lambda dispute, form: services.appeal(current_user, dispute.id, form.reason.data),
        ReasonForm(),
        _("Your appeal goes to the managers of the next center up."),
        "reason_form",
    )


@bp.post("/disputes/<int:dispute_id>/appeal-ruling")
@login_required
def rule_on_appeal(dispute_id):
    form = AppealRulingForm()

    def act(dispute, form):
        services.rule_on_appeal(
            current_user,
            dispute.id,
            form.uphold.data,
            form.reason.data,
            form.release.fen,
            form.refund.fen,
        )

    return _step(
        dispute_id, act, form, _("The appeal is decided; the ruling is final."), "appeal_form"
    )
