"""The task page, rendered for its views: empty, or with a refused form shown again as the
user typed it (a question, an answer, a cancellation), its message at the field."""

import datetime as dt

import sqlalchemy as sa
from flask import render_template
from flask_babel import format_date
from flask_login import current_user

from crowdsource.accounts import authz
from crowdsource.bids.models import LIVE_STATES, Bid
from crowdsource.contracts import services as contract_services
from crowdsource.contracts.models import Contract, MilestoneStatus
from crowdsource.db import db
from crowdsource.i18n import format_moment
from crowdsource.tasks import access, listing, questions, services
from crowdsource.tasks.forms import (
    FIELD_LABELS,
    AnswerForm,
    AttachmentForm,
    CancelForm,
    QuestionForm,
)
from crowdsource.tasks.models import BidMode, Question, TaskRevision, TaskStatus
from crowdsource.web import ConfirmForm


def render(task, status=200, answer_to=None, questions_page=None, **forms):
    """The task's page for the current user, under ``status``; ``forms`` replace its empty
    forms (a refused one, as typed: ``question_form``, ``answer_form`` with ``answer_to``, the
    id of the question it answers, ``cancel_form``). Its questions are paged: the page
    ``questions_page``, else the one showing the question ``answer_to``, else the first."""
    is_member = access.is_member(current_user, task)
    # a visitor who may bid sees their own bids (or why they cannot bid) in a card of its own
    bidder_card = current_user.is_authenticated and not is_member
    my_bids = _bids_of_current_user(task) if bidder_card else []
    if questions_page is None:
        answering = db.session.get(Question, answer_to) if answer_to else None
        questions_page = questions.page_showing(current_user, answering) if answering else 1
    question_pages = questions.page_of_visible(current_user, task, questions_page)
    visible_questions = question_pages.items
    contract = _contract_of(task)
    return render_template(
        "tasks/show.html",
        task=task,
        actions=services.allowed_actions(current_user, task),
        # why a member's draft has no Publish button (its organization is not verified, say)
        publish_refusal=(
            services.refusal("publish", current_user, task)
            if is_member and task.status == TaskStatus.DRAFT
            else None
        ),
        bidding_open=services.bidding_open(task),
        bidder_card=bidder_card,
        cancelled=task.status == TaskStatus.CANCELLED,
        full=access.can_view_full(current_user, task),
        questions=visible_questions,
        question_pages=question_pages,
        named_askers=questions.named_askers(current_user, task, visible_questions),
        revisions=db.session.scalars(
            sa.select(TaskRevision).filter_by(task_id=task.id).order_by(TaskRevision.id)
        ).all(),
        my_bids=my_bids,
        other_prices=_other_prices(task, my_bids, is_member),
        live_bid_count=listing.bid_counts([task]).get(task.id, 0),
        **{
            "question_form": QuestionForm(formdata=None),
            "answer_form": AnswerForm(formdata=None),
            "blank_answer_form": AnswerForm(formdata=None),
            "cancel_form": CancelForm(formdata=None),
            "attachment_form": AttachmentForm(formdata=None),
            **forms,
        },
        answer_to=answer_to,
        confirm=ConfirmForm(),
        field_names=FIELD_LABELS,
        change_text=_change_text,
        contract=contract,
        funded=_work_started(contract),
    ), status


def _bids_of_current_user(task):
    """The bids on the task by the current user or an agency of theirs, oldest first."""
    mine = Bid.bidder_id == current_user.id
    organization_ids = authz.organization_ids_of(current_user)
    if organization_ids:
        mine = sa.or_(mine, Bid.agency_id.in_(organization_ids))
    query = sa.select(Bid).where(Bid.task_id == task.id, mine).order_by(Bid.id)
    return db.session.scalars(query).all()


def _contract_of(task):
    """The task's contract, for the people who may see it (else None)."""
    contract = db.session.scalar(sa.select(Contract).filter_by(task_id=task.id))
    if contract is not None and contract_services.can_view(current_user, contract):
        return contract
    return None


def _work_started(contract):
    """Whether the first milestone of the task's contract is paid into escrow (or further)."""
    if contract is None or not contract.milestones:
        return False
    return contract.milestones[0].status != MilestoneStatus.PENDING


def _change_text(field, value):
    """A value of the change history as its reader reads dates: in their language and, for the
    deadline, their time zone (the history records them in ISO format, the deadline in UTC)."""
    try:
        if field == "bid_deadline":
            return format_moment(dt.datetime.fromisoformat(value), "medium")
        if field == "delivery_date":
            return format_date(dt.date.fromisoformat(value), "long")
    except (TypeError, ValueError):
        pass
    return value


def _other_prices(task, my_bids, is_member):
    """In open mode, bidders see the prices (never the proposals) of the other live bids."""
    if task.bid_mode != BidMode.OPEN or is_member or not my_bids:
        return []
    mine = {bid.id for bid in my_bids}
    query = sa.select(Bid.price_fen).where(
        Bid.task_id == task.id, Bid.status.in_(LIVE_STATES), Bid.id.not_in(mine)
    )
    return sorted(db.session.scalars(query))
