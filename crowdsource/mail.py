"""Sending mail through Flask-Mailman; written to the log until SMTP is configured.

Mail jobs send each message at most once per row that records it (``emailed_at``), and always
with the same Message-ID (:func:`message_id`). SMTP has no idempotency key: when a worker dies
after the server accepted a message but before our database recorded it, the retry sends it
again. What makes that one message for the reader is the Message-ID, by which mailbox providers
collapse copies. So "exactly once" here is at-least-once delivery plus the receiver's
de-duplication by Message-ID, not a guarantee SMTP itself gives.
"""

import hashlib
import hmac
import logging
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, url_for
from flask_mailman import EmailMessage
from flask_mailman.backends.base import BaseEmailBackend

from crowdsource.db import db, transaction, utcnow

log = logging.getLogger(__name__)


class LogEmailBackend(BaseEmailBackend):
    """Writes each message to the log (MAIL_BACKEND=log, the default without MAIL_SERVER)."""

    def send_messages(self, email_messages):
        for message in email_messages:
            log.info("mail to %s: %s\n%s", ", ".join(message.to), message.subject, message.body)
        return len(email_messages)


#: seconds between RQ's retries of a mail job that failed or whose worker died (the mail
#: server may be down for a while; after the last one the job waits in the failed registry)
RETRY_INTERVALS = [10, 30, 120, 600, 1800]


def message_id(kind, object_id):
    """The Message-ID of the mail about the row ``object_id`` of ``kind`` (e.g. "notification").

    Deterministic, so that every attempt at the same message carries the same ID: a copy sent
    again after a lost acknowledgement is recognised by the receiver as the same message. The
    token is keyed by SECRET_KEY so that nobody can forge the ID of our messages; the host is
    that of PUBLIC_URL, as RFC 5322 asks for a domain the sender controls.
    """
    row = f"{kind}-{object_id}"
    key = current_app.config["SECRET_KEY"].encode()
    token = hmac.new(key, row.encode(), hashlib.sha256).hexdigest()[:20]
    host = urlsplit(current_app.config["PUBLIC_URL"]).hostname or "localhost"
    return f"<{row}.{token}@{host}>"


def send_mail(to, subject, body, message_id=None, headers=None):
    """Send a plain-text message to one address, with the Message-ID given (else a new one)
    and any further ``headers`` (e.g. List-Unsubscribe).

    Raises the backend's error (e.g. smtplib.SMTPException, OSError) when the message was not
    accepted, so that the job fails and is retried.
    """
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[to],
        headers={**({"Message-ID": message_id} if message_id else {}), **(headers or {})} or None,
    )
    message.send()


def external_url(endpoint, **values):
    """An absolute URL for a link in a message, always on PUBLIC_URL: the same from a worker
    with no request as from a request, and never on the host a request's Host header named
    (a forged one would otherwise put the attacker's host in a password-reset mail)."""
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
        return url_for(endpoint, _external=True, **values)


def send_once(model, row_id, compose):
    """The mail job of a row of ``model`` that records its e-mail (``emailed_at``,
    ``email_message_id``): ``compose(row_id)`` gives ``(to, subject, body, message_id)``
    (optionally followed by a dict of further headers), or None when no mail is due (sent
    already, no longer wanted). The mail server is called between transactions, never under a
    row lock, and the send is recorded after it accepted."""
    with transaction():
        outgoing = compose(row_id)
    if outgoing is None:
        return
    to, subject, body, message_id, *more = outgoing
    send_mail(to, subject, body, message_id=message_id, headers=more[0] if more else None)
    with transaction():
        # Conditional, so that a second attempt that ran alongside keeps the first record.
        db.session.execute(
            sa.update(model)
            .where(model.id == row_id, model.emailed_at.is_(None))
            .values(emailed_at=utcnow(), email_message_id=message_id)
        )
