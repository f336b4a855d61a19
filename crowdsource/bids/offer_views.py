"""Offer pages: the enterprise offers the contract to a bid (signing it), the winning side reads
the terms and signs or declines, the enterprise may withdraw an open offer; the signed
document can be downloaded to check its SHA-256."""

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource.bids import bp, offers
from crowdsource.bids.forms import OfferAnswerForm
from crowdsource.bids.models import Bid
from crowdsource.contracts.models import Offer, Side
from crowdsource.contracts.signing import Signer
from crowdsource.db import transaction, utcnow
from crowdsource.errors import DomainError, refused
from crowdsource.web import ConfirmForm, get_or_404


def _signer():
    return Signer.of_request(current_user, request)


def _visible(offer_id):
    offer = get_or_404(Offer, offer_id)
    offers.require_view(current_user, offer)
    return offer


def _page(offer, status=200, typed=None, slot=None):
    """The offer page; ``typed`` (a refused answer form, as sent) is shown in ``slot``
    ("decline" or "withdraw")."""
    now = utcnow()
    forms = {name: OfferAnswerForm(formdata=None, prefix=name) for name in ("decline", "withdraw")}
    if typed is not None:
        forms[slot] = typed
    return render_template(
        "bids/offer.html",
        offer=offer,
        bid=offer.bid,
        task=offer.task,
        terms=offer.bid.milestones,
        signatures={s.side: s for s in offer.signatures},
        sides=Side,
        may_sign=offers.may_sign(current_user, offer, now),
        may_withdraw=offers.may_withdraw(current_user, offer),
        forms=forms,
        opened=slot,
        confirm=ConfirmForm(),
    ), status


@bp.post("/bids/<int:bid_id>/award")
@login_required
def award(bid_id):
    """The enterprise offers the contract to the bid and signs it (ending bidding if open)."""
    bid = get_or_404(Bid, bid_id)
    ConfirmForm().validate_on_submit()
    with transaction():
        offer = offers.offer_bid(_signer(), bid)
    flash(
        _(
            "You signed and offered the contract to %(name)s. They have until %(date)s to sign.",
            name=bid.bidder_name,
            date=offer.expires_at,
        ),
        "success",
    )
    return redirect(url_for("bids.offer", offer_id=offer.id))


@bp.get("/offers/<int:offer_id>")
@login_required
def offer(offer_id):
    return _page(_visible(offer_id))


@bp.get("/offers/<int:offer_id>/document.json")
@login_required
def offer_document(offer_id):
    """The contract document as signed: its SHA-256 is the one each signature names."""
    offer = _visible(offer_id)
    response = Response(offer.document.encode(), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="offer-{offer.id}.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/offers/<int:offer_id>/accept")
@login_required
def accept(offer_id):
    offer = _visible(offer_id)
    ConfirmForm().validate_on_submit()
    with transaction():
        contract = offers.accept_offer(_signer(), offer)
    flash(_("You signed. Contract %(number)s is formed.", number=contract.number), "success")
    return redirect(url_for("contracts.show", contract_id=contract.id))


@bp.post("/offers/<int:offer_id>/<any(decline, withdraw):answer>")
@login_required
def answer(offer_id, answer):
    """Decline (the winning side) or withdraw (the enterprise) with a reason; a reason that
    does not validate, or a refusal, comes back on the page as typed."""
    offer = _visible(offer_id)
    form = OfferAnswerForm(prefix=answer)
    if not form.validate_on_submit():
        return _page(offer, 400, form, answer)
    service = {"decline": offers.decline_offer, "withdraw": offers.withdraw_offer}[answer]
    try:
        with transaction():
            service(current_user, offer, form.reason.data)
    except DomainError as error:
        return _page(offer, refused(form, error), form, answer)
    messages = {
        "decline": _("You declined the offer; the enterprise has been told."),
        "withdraw": _("The offer is withdrawn; the bidder has been told."),
    }
    flash(messages[answer], "info")
    return redirect(url_for("bids.offer", offer_id=offer.id))
