"""The calls we make to Stripe, through its official library, and what their failures mean.

Every creating call carries a deterministic idempotency key derived from the business object
(the milestone and attempt, the payout, the refund), so a retried call never creates twice.
Network trouble, rate limits and Stripe's own 5xx errors are :class:`StripeUnavailable`: try
again later. Anything Stripe refuses is :class:`StripeRefused`, with Stripe's message.
"""

import stripe
from flask import current_app


class StripeUnavailable(Exception):
    """Stripe could not be reached or answered with a server error: retry later."""


class StripeRefused(Exception):
    """Stripe refused the request (a 4xx): retrying the same request will not help."""


def enabled():
    """Card payments are on when both Stripe settings are present."""
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_WEBHOOK_SECRET"))


def client():
    config = current_app.config
    base = config.get("STRIPE_API_BASE")
    return stripe.StripeClient(
        config["STRIPE_SECRET_KEY"],
        base_addresses={"api": base} if base else None,
        max_network_retries=0,  # our jobs retry, with backoff, and with the same keys
        http_client=stripe.RequestsClient(timeout=config["STRIPE_TIMEOUT_SECONDS"]),
    )


def _call(function, params, idempotency_key=None):
    options = {"idempotency_key": idempotency_key} if idempotency_key else None
    try:
        return function(params=params, options=options)
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise StripeUnavailable(str(error.user_message or error)) from error
    except stripe.APIError as error:
        raise StripeUnavailable(str(error.user_message or error)) from error
    except stripe.IdempotencyError as error:
        raise StripeRefused(str(error.user_message or error)) from error
    except stripe.StripeError as error:
        if error.http_status is None or error.http_status >= 500:
            raise StripeUnavailable(str(error.user_message or error)) from error
        raise StripeRefused(str(error.user_message or error)) from error


def create_checkout_session(params, idempotency_key):
    return _call(client().v1.checkout.sessions.create, params, idempotency_key)


def create_express_account(params, idempotency_key):
    return _call(client().v1.accounts.create, params, idempotency_key)


def create_account_link(params):
    return _call(client().v1.account_links.create, params)


def find_transfer(transfer_group, payout_id):
    """The Transfer already made for a payout (looked up before creating one), or None."""
    listed = _call(client().v1.transfers.list, {"transfer_group": transfer_group, "limit": 100})
    for transfer in listed.data:
        if metadata_of(transfer).get("payout_id") == str(payout_id):
            return transfer
    return None


def metadata_of(obj):
    """The metadata of a Stripe object as a plain dict (empty when it has none).

    The library's objects are not dicts (``obj.metadata.get`` raises AttributeError), and a
    crash here is a Transfer made at Stripe that our books never record."""
    metadata = getattr(obj, "metadata", None)
    if metadata is None:
        return {}
    return metadata.to_dict() if hasattr(metadata, "to_dict") else dict(metadata)


def create_transfer(params, idempotency_key):
    return _call(client().v1.transfers.create, params, idempotency_key)


def create_refund(params, idempotency_key):
    return _call(client().v1.refunds.create, params, idempotency_key)


def verify_webhook(payload, signature):
    """The event of a webhook request, if its signature is valid (within 300 seconds); else
    raises ValueError or stripe.SignatureVerificationError."""
    return stripe.Webhook.construct_event(
        payload, signature, current_app.config["STRIPE_WEBHOOK_SECRET"], tolerance=300
    )
