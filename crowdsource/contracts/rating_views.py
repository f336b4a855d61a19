"""Rating the other side of a completed contract; the ratings on the contract page and the
credit profiles on the profile pages (template globals, so the pages' own views stay as they
are)."""

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, TextAreaField

from crowdsource.contracts import bp, ratings, services
from crowdsource.contracts.models import Contract
from crowdsource.db import transaction
from crowdsource.web import get_or_404


class RatingForm(FlaskForm):
    """A score of 1–5 and a comment. The service checks both: a bad score is a 400 with the
    reason, whatever sent it."""

    score = IntegerField(_l("Score"))
    comment = TextAreaField(_l("Comment (optional)"))


@bp.post("/contracts/<int:contract_id>/rating")
@login_required
def rate(contract_id):
    contract = get_or_404(Contract, contract_id)
    if not services.can_view(current_user, contract):
        abort(404)
    form = RatingForm()
    with transaction():
        ratings.rate(current_user, contract, form.score.data, form.comment.data)
    flash(_("Your rating has been saved."), "success")
    return redirect(url_for("contracts.show", contract_id=contract.id, _anchor="rating"))


@bp.app_template_global("contract_ratings")
def contract_ratings(contract, side):
    """The ratings of a contract as the viewer on ``side`` may see them, and the form."""
    return {
        "state": ratings.contract_ratings(contract, side),
        "form": RatingForm(formdata=None),
        "scores": ratings.SCORES,
        "comment_max": ratings.COMMENT_MAX_LENGTH,
    }


@bp.app_template_global("credit_profile_of")
def credit_profile_of(user=None, organization=None):
    """The credit profile of a user or an organization and their latest visible ratings."""
    return {
        "profile": ratings.credit_profile(user=user, organization=organization),
        "ratings": ratings.visible_ratings(user=user, organization=organization),
    }
