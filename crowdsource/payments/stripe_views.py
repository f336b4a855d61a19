"""Stripe pages: paying a milestone by card (Checkout), Stripe's webhook, connecting a payee's
Stripe Express account, and the admin's view of failed jobs and events."""

import sqlalchemy as sa
import stripe
from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource import outbox
from crowdsource.accounts import authz
from crowdsource.accounts.models import Organization
from crowdsource.contracts import services as contracts
from crowdsource.contracts.models import Milestone
from crowdsource.db import db, transaction, utcnow
from crowdsource.extensions import csrf
from crowdsource.payments import bp, card, funding, stripe_api
from crowdsource.payments.models import (
    CardRefund,
    CardRefundStatus,
    Funding,
    Payout,
    PayoutStatus,
    StripeEvent,
    StripeEventStatus,
)
from crowdsource.queue import all_queues
from crowdsource.web import ConfirmForm, get_or_404


def _require_stripe():
    if not stripe_api.enabled():
        abort(404)


@bp.post("/milestones/<int:milestone_id>/fund/card")
@login_required
def fund_by_card(milestone_id):
    _require_stripe()
    milestone = get_or_404(Milestone, milestone_id)
    if not contracts.can_view(current_user, milestone.contract):
        abort(404)
    ConfirmForm().validate_on_submit()
    with transaction():
        started = funding.start_funding(current_user, milestone, "stripe")
    if started.checkout_url:
        return redirect(started.checkout_url)
    # From PUBLIC_URL, not from the request's host: a click again (through another host name,
    # or after the server died mid-call) must send Stripe the very same parameters, or the
    # milestone's idempotency key is refused for good.
    back = current_app.config["PUBLIC_URL"].rstrip("/") + url_for(
        "payments.show_funding", funding_id=started.id
    )
    try:
        session = card.create_checkout(started, f"{back}?card=paid", f"{back}?card=cancelled")
    except stripe_api.StripeUnavailable as error:
        with transaction():
            card.note_unavailable(started, str(error))
        flash(
            _(
                "Stripe is not answering right now. Nothing was charged; please try again in "
                "a minute."
            ),
            "warning",
        )
        return redirect(url_for("payments.show_funding", funding_id=started.id)), 303
    except stripe_api.StripeRefused as error:
        abort(400, str(error))
    with transaction():
        card.attach_session(started, session)
    return redirect(session.url)


@bp.post("/payments/stripe/webhook")
@csrf.exempt
def stripe_webhook():
    """Stripe's events: verified by signature, stored once, processed by a job."""
    if not stripe_api.enabled():
        abort(404)
    payload = request.get_data()
    signature = request.headers.get("Stripe-Signature")
    try:
        event = stripe_api.verify_webhook(payload, signature)
    except (ValueError, stripe.SignatureVerificationError):
        return jsonify(error="invalid signature"), 400
    with transaction():
        row, new = card.store_event(event.to_dict() if hasattr(event, "to_dict") else event)
        if new:
            card.enqueue_processing(row)
    return jsonify(received=True, duplicate=not new)


def _owner(kind, owner_id):
    """The payee a Stripe account is for: the current user, or an organization they act for."""
    if kind == "user":
        if owner_id != current_user.id:
            abort(403)
        return current_user._get_current_object(), None
    organization = get_or_404(Organization, owner_id)
    if not authz.can_act_for(current_user, organization):
        abort(403)
    return None, organization


@bp.post("/payments/stripe/connect/<any(user, organization):kind>/<int:owner_id>")
@login_required
def connect_stripe(kind, owner_id):
    _require_stripe()
    ConfirmForm().validate_on_submit()
    user, organization = _owner(kind, owner_id)
    account = card.account_of(user=user, organization=organization)
    try:
        if account is None:
            created = card.create_account(
                f"{kind}-{owner_id}", {"kind": kind, "owner_id": str(owner_id)}
            )
            with transaction():
                account = card.record_account(created.id, user, organization)
        link = stripe_api.create_account_link(
            {
                "account": account.account_id,
                "type": "account_onboarding",
                "refresh_url": url_for("payments.earnings", _external=True),
                "return_url": url_for("payments.stripe_connected", _external=True),
            }
        )
    except stripe_api.StripeUnavailable:
        flash(_("Stripe is not answering right now. Please try again in a minute."), "warning")
        return redirect(url_for("payments.earnings"))
    return redirect(link.url)


@bp.get("/payments/stripe/connected")
@login_required
def stripe_connected():
    flash(_("Thank you. Stripe will tell us when your account can receive payouts."), "info")
    return redirect(url_for("payments.earnings"))


@bp.get("/admin/jobs")
@login_required
def failed_jobs():
    if not current_user.is_admin:
        abort(403)
    waiting_count, oldest, waiting = outbox.waiting()
    return render_template(
        "payments/failed_jobs.html",
        jobs=_failed_rq_jobs(),
        waiting=waiting,
        waiting_count=waiting_count,
        waiting_since=oldest,
        now=utcnow(),
        events=db.session.scalars(
            sa.select(StripeEvent)
            .where(StripeEvent.status.in_([StripeEventStatus.FAILED, StripeEventStatus.DEFERRED]))
            .order_by(StripeEvent.id.desc())
        ).all(),
        payouts=db.session.scalars(
            sa.select(Payout)
            .where(
                Payout.provider == "stripe",
                Payout.status.in_(
                    [PayoutStatus.FAILED, PayoutStatus.PROCESSING, PayoutStatus.REQUESTED]
                ),
            )
            .order_by(Payout.id.desc())
        ).all(),
        refunds=db.session.scalars(
            sa.select(CardRefund)
            .where(CardRefund.status.in_([CardRefundStatus.FAILED, CardRefundStatus.PENDING]))
            .order_by(CardRefund.id.desc())
        ).all(),
        fundings=db.session.scalars(
            sa.select(Funding)
            .where(
                Funding.provider == "stripe",
                Funding.failure_reason.is_not(None),
                Funding.status == "pending",
            )
            .order_by(Funding.id.desc())
        ).all(),
        confirm=ConfirmForm(),
    )


def _failed_rq_jobs():
    """The jobs RQ gave up on (with their errors), when jobs run on RQ; None when Redis does
    not answer."""
    if not current_app.config.get("REDIS_URL"):
        return []
    if outbox.redis_down():
        return None  # failed a moment ago: no second wait for its timeout
    import redis
    from rq.job import Job

    failed = []
    try:
        for queue in all_queues():
            ids = queue.failed_job_registry.get_job_ids()
            for job in Job.fetch_many(ids, connection=queue.connection):
                if job is None:
                    continue
                result = job.latest_result()
                trace = (result.exc_string if result else "") or ""
                lines = [line for line in trace.strip().splitlines() if line.strip()]
                failed.append(
                    {
                        "job": job,
                        "queue": queue,
                        "error": lines[-1] if lines else "",
                        "trace": trace,
                    }
                )
    except redis.exceptions.RedisError as error:
        outbox.mark_redis_down(error)
        return None
    return failed


@bp.post("/admin/jobs/<job_id>/retry")
@login_required
def retry_job(job_id):
    if not current_user.is_admin:
        abort(403)
    ConfirmForm().validate_on_submit()
    import redis

    try:
        registry = next(
            (
                queue.failed_job_registry
                for queue in all_queues()
                if job_id in queue.failed_job_registry.get_job_ids()
            ),
            None,
        )
        if registry is None:
            abort(404)
        registry.requeue(job_id)
    except redis.exceptions.RedisError:
        flash(_("Redis does not answer; try again when it is back."), "danger")
        return redirect(url_for("payments.failed_jobs"))
    flash(_("The job is queued again."), "info")
    return redirect(url_for("payments.failed_jobs"))


@bp.post("/admin/stripe/retry")
@login_required
def retry_stripe():
    """Run now what waits on Stripe: deferred events, unsent payouts, pending refunds."""
    if not current_user.is_admin:
        abort(403)
    ConfirmForm().validate_on_submit()
    with transaction():
        card.sweep_due(stale_minutes=0)
    flash(_("Everything waiting on Stripe has been tried again."), "info")
    return redirect(url_for("payments.failed_jobs"))
