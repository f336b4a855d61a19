"""Bid pages: placing and editing a bid, the bid page, my bids, the enterprise's comparison,
shortlist and reject (the award, an offer: offer_views)."""

import dataclasses

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from crowdsource.accounts import authz
from crowdsource.accounts.models import Organization, OrgKind
from crowdsource.bids import bp, conversation, offers, services
from crowdsource.bids.forms import BidForm, BidMessageForm, RejectForm
from crowdsource.bids.models import Bid, BidFile, BidStatus
from crowdsource.contracts import ratings
from crowdsource.contracts.models import Offer
from crowdsource.db import db, transaction
from crowdsource.errors import DomainError, NotFound, TooManyAttempts, refused
from crowdsource.money import fen_to_yuan_text, format_bps
from crowdsource.payments import policy
from crowdsource.tasks import access
from crowdsource.tasks import services as task_services
from crowdsource.tasks.models import Task
from crowdsource.throttle import limit_content
from crowdsource.web import ConfirmForm, QueryArguments, form_page, get_or_404


def _agencies_of(user):
    ids = authz.organization_ids_of(user)
    query = sa.select(Organization).where(
        Organization.id.in_(ids), Organization.kind == OrgKind.AGENCY
    )
    return list(db.session.scalars(query.order_by(Organization.name)))


def _bid_form(task, bid=None):
    form = BidForm()
    form.brokerage_cap = policy.in_force(task.center, task.contract_type).max_brokerage_bps
    form.bid_as.choices = [SelectChoice("", _("Myself, as an individual solver"))] + [
        SelectChoice(str(agency.id), agency.name) for agency in _agencies_of(current_user)
    ]
    institutions = db.session.scalars(
        sa.select(Organization)
        .where(Organization.kind == OrgKind.INSTITUTION, Organization.id != task.organization_id)
        .order_by(Organization.name)
    )
    form.payee_organization_id.choices = [SelectChoice("", _("— none —"))] + [
        SelectChoice(str(org.id), org.name) for org in institutions
    ]
    if request.method == "GET" and bid is not None:
        form.bid_as.data = str(bid.agency_id or "")
        form.payee_organization_id.data = str(bid.payee_organization_id or "")
        form.brokerage.data = format_bps(bid.brokerage_bps).rstrip("%") if bid.brokerage_bps else ""
        form.price.data = fen_to_yuan_text(bid.price_fen)
        form.duration_days.data = bid.duration_days
        form.proposal.data = bid.proposal
        while len(form.milestones) < len(bid.milestones):
            form.milestones.append_entry()
        for row, milestone in zip(form.milestones, bid.milestones, strict=False):
            row.form.title.data = milestone.title
            row.form.amount.data = fen_to_yuan_text(milestone.amount_fen)
            row.form.due_date.data = milestone.due_date
    return form


def _details(form):
    agency = db.session.get(Organization, int(form.bid_as.data)) if form.bid_as.data else None
    payee_id = form.payee_organization_id.data
    return services.BidDetails(
        price_fen=form.price.fen,
        duration_days=form.duration_days.data,
        proposal=form.proposal.data,
        milestones=[
            services.ProposedMilestone(row.title.data, row.amount.fen, row.due_date.data)
            for row in form.filled_milestones()
        ],
        agency=agency,
        payee_organization=db.session.get(Organization, int(payee_id)) if payee_id else None,
        brokerage_bps=form.brokerage.bps,
    )


@bp.route("/tasks/<int:task_id>/bid", methods=["GET", "POST"])
@login_required
def place(task_id):
    task = get_or_404(Task, task_id)
    access.require_view(current_user, task)
    authz.require_verified_email(current_user)  # before anyone types a proposal in vain
    existing = services.live_bid_of(current_user, task)
    agencies = _agencies_of(current_user)
    if request.method == "GET" and existing is not None and not agencies:
        # Nothing else to bid as: edit the bid there is.
        return redirect(url_for("bids.edit", bid_id=existing.id))
    form = _bid_form(task)
    if form.validate_on_submit():
        try:
            limit_content("bids", current_user)
            with transaction():
                bid = services.place_bid(current_user, task, _details(form))
        except DomainError as error:
            if refused(form, error) == TooManyAttempts.status_code:
                return render_template("bids/form.html", form=form, task=task, bid=None), 429
        else:
            flash(_("Your bid has been submitted."), "success")
            return redirect(url_for("bids.show", bid_id=bid.id))
    return form_page(render_template("bids/form.html", form=form, task=task, bid=None), form)


@bp.route("/bids/<int:bid_id>/edit", methods=["GET", "POST"])
@login_required
def edit(bid_id):
    bid = get_or_404(Bid, bid_id)
    services.require_view(current_user, bid)
    if not services.is_bidder(current_user, bid):
        abort(403)
    form = _bid_form(bid.task, bid)
    if form.validate_on_submit():
        try:
            with transaction():
                services.update_bid(current_user, bid, _details(form))
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Your bid has been updated."), "success")
            return redirect(url_for("bids.show", bid_id=bid.id))
    html = render_template("bids/form.html", form=form, task=bid.task, bid=bid)
    return form_page(html, form)


@bp.get("/bids/<int:bid_id>")
@login_required
def show(bid_id):
    bid = get_or_404(Bid, bid_id)
    services.require_view(current_user, bid)
    if conversation.can_read(current_user, bid):
        with transaction():
            conversation.mark_read(current_user, bid)
    return _bid_page(bid)


def _bid_page(bid, status=200, message_form=None):
    """The bid page; ``message_form``, a refused message as typed, in the conversation."""
    readable = conversation.can_read(current_user, bid)
    return render_template(
        "bids/show.html",
        bid=bid,
        task=bid.task,
        is_bidder=services.is_bidder(current_user, bid),
        is_enterprise=access.is_member(current_user, bid.task),
        offer=db.session.scalar(
            sa.select(Offer).where(Offer.bid_id == bid.id).order_by(Offer.id.desc()).limit(1)
        ),
        conversation=conversation.messages_of(bid) if readable else None,
        may_write=conversation.may_write(current_user, bid),
        message_form=message_form or BidMessageForm(formdata=None),
        reject_form=RejectForm(),
        confirm=ConfirmForm(),
    ), status


@bp.post("/bids/<int:bid_id>/messages")
@login_required
def post_message(bid_id):
    """A side writes about the bid (with files); a refused message comes back as typed."""
    bid = get_or_404(Bid, bid_id)
    if not conversation.can_read(current_user, bid):
        abort(404)
    form = BidMessageForm()
    if not form.validate_on_submit():
        return _bid_page(bid, 400, form)
    try:
        limit_content("messages", current_user)
        with transaction():
            conversation.post(current_user, bid, form.body.data, form.files.data)
    except DomainError as error:
        return _bid_page(bid, refused(form, error), form)
    flash(_("Your message has been sent."), "success")
    return redirect(url_for("bids.show", bid_id=bid.id, _anchor="conversation"))


@bp.get("/bid-files/<int:file_id>")
@login_required
def download_file(file_id):
    """A file of a bid's conversation, for those who may read it."""
    record = get_or_404(BidFile, file_id)
    try:
        path = conversation.file_path(current_user, record)
    except NotFound:
        abort(404)
    if not path.exists():
        abort(404)
    return send_file(
        path, mimetype=record.content_type, as_attachment=True, download_name=record.original_name
    )


@bp.get("/bids/mine")
@login_required
def mine():
    agency_ids = [agency.id for agency in _agencies_of(current_user)]
    condition = Bid.bidder_id == current_user.id
    if agency_ids:
        condition = sa.or_(condition, Bid.agency_id.in_(agency_ids))
    bids = db.session.scalars(
        sa.select(Bid)
        .where(condition)
        .options(sa.orm.joinedload(Bid.task), sa.orm.joinedload(Bid.agency))
        .order_by(Bid.updated_at.desc(), Bid.id.desc())
    ).all()
    unread = conversation.unread_counts(current_user, [bid.id for bid in bids])
    return render_template("bids/mine.html", bids=bids, unread=unread)


@bp.get("/tasks/<int:task_id>/bids")
@login_required
def compare(task_id):
    task = get_or_404(Task, task_id)
    task_services.require("compare_bids", current_user, task)
    return _compare_page(task)


#: the comparison's sortable columns: the key of each row it sorts by (None last)
SORTS = {
    "price": lambda row: row.bid.price_fen,
    "duration": lambda row: row.bid.duration_days,
    "milestones": lambda row: len(row.bid.milestones),
    "rating": lambda row: row.record.average_rating,
    "completed": lambda row: row.record.completed_contracts,
    "on_time": lambda row: row.record.on_time_bps,
    "disputes_lost": lambda row: row.record.disputes_lost,
}
#: how many bids the side-by-side view shows at most
SIDE_BY_SIDE = 3


@dataclasses.dataclass(frozen=True)
class Row:
    """A bid on the comparison, with its bidder's record on the platform."""

    bid: Bid
    record: ratings.CreditProfile


def _record(bid):
    if bid.agency is not None:
        return ratings.credit_profile(organization=bid.agency)
    return ratings.credit_profile(user=bid.bidder)


def _sorted(rows, sort, descending):
    key = SORTS[sort]
    known = [row for row in rows if key(row) is not None]
    unknown = [row for row in rows if key(row) is None]
    known.sort(key=lambda row: (key(row), row.bid.id), reverse=descending)
    return known + unknown


def _compare_page(task, status=200, reject_form=None, rejecting=None):
    """The enterprise's comparison of the bids on ``task``, as a table sorted by ``?sort=``
    (``?order=desc`` reverses it), with the bids ticked in ``?compare=`` side by side;
    ``reject_form`` (a refused one, as typed) is shown on the bid ``rejecting`` (an id)."""
    arguments = QueryArguments()
    sort = arguments.choice("sort", list(SORTS)) or "price"
    descending = arguments.choice("order", ["asc", "desc"]) == "desc"
    bids = db.session.scalars(
        sa.select(Bid)
        .where(Bid.task_id == task.id, Bid.status != BidStatus.WITHDRAWN)
        .options(
            sa.orm.joinedload(Bid.bidder),
            sa.orm.joinedload(Bid.agency),
            sa.orm.joinedload(Bid.payee_organization),
            sa.orm.selectinload(Bid.milestones),
        )
        .order_by(Bid.price_fen, Bid.id)
    ).all()
    rows = _sorted([Row(bid, _record(bid)) for bid in bids], sort, descending)
    ticked = set(arguments.ids("compare"))
    chosen = [row for row in rows if row.bid.id in ticked]
    if ticked and not 2 <= len(chosen) <= SIDE_BY_SIDE:
        arguments.refuse(_("Tick two or three bids to see them side by side."))
        chosen = []
    return render_template(
        "bids/compare.html",
        task=task,
        rows=rows,
        chosen=chosen,
        sort=sort,
        descending=descending,
        open_offer=offers.open_offer_of(task),
        unread=conversation.unread_counts(current_user, [row.bid.id for row in rows]),
        may_offer={row.bid.id for row in rows if offers.may_offer(current_user, row.bid)},
        confirm=ConfirmForm(),
        reject_form=RejectForm(formdata=None),
        refused_rejection=reject_form,
        rejecting=rejecting,
    ), max(status, arguments.status)


@bp.post("/bids/<int:bid_id>/<any(withdraw, shortlist):action>")
@login_required
def act(bid_id, action):
    bid = get_or_404(Bid, bid_id)
    ConfirmForm().validate_on_submit()
    service = {"withdraw": services.withdraw_bid, "shortlist": services.shortlist_bid}[action]
    with transaction():
        service(current_user, bid)
    messages = {
        "withdraw": _("Your bid has been withdrawn."),
        "shortlist": _("The bid is on your shortlist; the bidder has been told."),
    }
    flash(messages[action], "success")
    if action == "shortlist":
        return redirect(url_for("bids.compare", task_id=bid.task_id))
    return redirect(url_for("bids.show", bid_id=bid.id))


@bp.post("/bids/<int:bid_id>/reject")
@login_required
def reject(bid_id):
    """The enterprise turns a bid down; a reason that does not validate comes back as typed on
    the comparison. The service refuses only the step itself (not the enterprise's, a bid no
    longer live), which no form can mend: an error page says why."""
    bid = get_or_404(Bid, bid_id)
    form = RejectForm()
    if not form.validate_on_submit():
        task_services.require("compare_bids", current_user, bid.task)
        return _compare_page(bid.task, 400, form, bid.id)
    with transaction():
        services.reject_bid(current_user, bid, form.reason.data)
    flash(_("The bid has been turned down; the bidder has been told."), "info")
    return redirect(url_for("bids.compare", task_id=bid.task_id))
