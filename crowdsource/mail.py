"""Sending mail through Flask-Mailman; written to the log until SMTP is configured."""

import logging

from flask import current_app, has_request_context, url_for
from flask_mailman import EmailMessage
from flask_mailman.backends.base import BaseEmailBackend

log = logging.getLogger(__name__)


class LogEmailBackend(BaseEmailBackend):
    """Writes each message to the log (MAIL_BACKEND=log, the default without MAIL_SERVER)."""

    def send_messages(self, email_messages):
        for message in email_messages:
            log.info("mail to %s: %s\n%s", ", ".join(message.to), message.subject, message.body)
        return len(email_messages)


def send_mail(to, subject, body):
    """Send a plain-text message to one address."""
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[to],
    )
    message.send()


def external_url(endpoint, **values):
    """An absolute URL for a link in a message, also from a worker with no request."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=current_app.config["PUBLIC_URL"]):
        return url_for(endpoint, _external=True, **values)
