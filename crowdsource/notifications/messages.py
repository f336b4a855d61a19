"""The text of each kind of notification, made when it is read: in the current language (the
reader's, on their pages and in their e-mail), with amounts in that language's format and
moments in the reader's time zone (the values are stored typed: see
crowdsource/notifications/services.py)."""

import datetime as dt
import zoneinfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from crowdsource.accounts.models import User
from crowdsource.db import db
from crowdsource.i18n import format_moment
from crowdsource.money import format_money
from crowdsource.notifications.models import DIGEST_COUNT, Kind


def reader_zone(notification):
    """The time zone of the notification's reader (the default zone if theirs is unknown)."""
    reader = db.session.get(User, notification.user_id)
    for name in (getattr(reader, "timezone", None), current_app.config["BABEL_DEFAULT_TIMEZONE"]):
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            continue
    return dt.UTC


def values(notification):
    """The notification's values as text for its reader: an amount (``{"fen": …}``) as the
    current language writes money, a moment (``{"utc": …}``) in the reader's time zone, text
    as stored (so rows written before values were typed read as they always did)."""
    shown = {}
    zone = None
    for key, value in (notification.params or {}).items():
        if isinstance(value, dict) and isinstance(value.get("fen"), int):
            shown[key] = format_money(value["fen"])
        elif isinstance(value, dict) and isinstance(value.get("utc"), str):
            zone = zone or reader_zone(notification)
            moment = dt.datetime.fromisoformat(value["utc"]).astimezone(zone)
            shown[key] = format_moment(moment, "medium", rebase=False)
        else:
            shown[key] = value
    return shown


def subject(notification):
    """A one-line text of the notification (the list entry and the mail subject)."""
    p = values(notification)
    texts = {
        Kind.QUESTION_ASKED: lambda: _("New question on “%(task)s”", task=p["task"]),
        Kind.QUESTION_ANSWERED: lambda: _(
            "Your question on “%(task)s” was answered", task=p["task"]
        ),
        Kind.BID_SUBMITTED: lambda: _("New bid of %(amount)s on “%(task)s”", **p),
        Kind.BID_SHORTLISTED: lambda: _("Your bid on “%(task)s” was shortlisted", task=p["task"]),
        Kind.BID_REJECTED: lambda: _("Your bid on “%(task)s” was not selected", task=p["task"]),
        Kind.BID_AWARDED: lambda: _(
            "You won “%(task)s”: contract %(number)s", task=p["task"], number=p["number"]
        ),
        Kind.BIDDING_CLOSED: lambda: _("Bidding on “%(task)s” has closed", task=p["task"]),
        Kind.TASK_EXPIRED: lambda: _("“%(task)s” expired without bids", task=p["task"]),
        Kind.TASK_CANCELLED: lambda: _("“%(task)s” was cancelled", task=p["task"]),
        Kind.MILESTONE_FUNDED: lambda: _(
            "%(number)s: “%(milestone)s” is funded in escrow (%(amount)s)", **p
        ),
        Kind.DELIVERY_SUBMITTED: lambda: _(
            "%(number)s: “%(milestone)s” was delivered; please review it", **p
        ),
        Kind.CHANGES_REQUESTED: lambda: _("%(number)s: changes requested to “%(milestone)s”", **p),
        Kind.MILESTONE_RELEASED: lambda: _(
            "%(number)s: “%(milestone)s” was accepted and %(amount)s released", **p
        ),
        Kind.CANCELLATION_REQUESTED: lambda: _(
            "%(number)s: the other side proposes to cancel the contract", **p
        ),
        Kind.CONTRACT_CANCELLED: lambda: _("%(number)s was cancelled by mutual agreement", **p),
        Kind.PAYOUT_SENT: lambda: _("%(number)s: a payout of %(amount)s was sent", **p),
        Kind.REVIEW_ENDING: lambda: _(
            "%(number)s: “%(milestone)s” is released automatically on %(date)s unless you"
            " accept it, ask for changes or open a dispute",
            **p,
        ),
        Kind.CONTRACT_MESSAGE: lambda: _("%(number)s: new message from %(author)s", **p),
        Kind.RATING_RECEIVED: lambda: _("%(number)s: the other side rated you", **p),
        Kind.DISPUTE_OPENED: lambda: _(
            "%(number)s: a dispute was opened over “%(milestone)s”; escrow is frozen", **p
        ),
        Kind.DISPUTE_RESPONDED: lambda: _(
            "%(number)s: the dispute over “%(milestone)s” was answered", **p
        ),
        Kind.DISPUTE_TO_REVIEW: lambda: _(
            "%(number)s: the dispute over “%(milestone)s” awaits a manager", **p
        ),
        Kind.DISPUTE_TAKEN: lambda: _(
            "%(number)s: %(manager)s is reviewing the dispute over “%(milestone)s”", **p
        ),
        Kind.DISPUTE_INFO_REQUESTED: lambda: _(
            "%(number)s: the manager asks you for more information on the dispute", **p
        ),
        Kind.DISPUTE_MESSAGE: lambda: _("%(number)s: new post in the dispute by %(author)s", **p),
        Kind.DISPUTE_RULED: lambda: _(
            "%(number)s: the dispute over “%(milestone)s” was ruled: %(release)s to the payee,"
            " %(refund)s back to the enterprise",
            **p,
        ),
        Kind.DISPUTE_APPEALED: lambda: _(
            "%(number)s: the ruling on “%(milestone)s” was appealed", **p
        ),
        Kind.DISPUTE_FINAL: lambda: _(
            "%(number)s: the ruling on “%(milestone)s” is final and the money has moved", **p
        ),
        Kind.DISPUTE_DEADLINE: lambda: _(
            "%(number)s: the dispute over “%(milestone)s” has a deadline on %(date)s", **p
        ),
        Kind.OFFER_RECEIVED: lambda: _(
            "You are offered the contract for “%(task)s” (%(amount)s): sign by %(date)s", **p
        ),
        Kind.OFFER_ACCEPTED: lambda: _(
            "%(bidder)s signed: contract %(number)s for “%(task)s” is formed", **p
        ),
        Kind.OFFER_DECLINED: lambda: _(
            "%(bidder)s declined your offer for “%(task)s”: you may offer another bid", **p
        ),
        Kind.OFFER_WITHDRAWN: lambda: _("The offer for “%(task)s” was withdrawn", **p),
        Kind.OFFER_EXPIRED: lambda: _(
            "The offer to %(bidder)s for “%(task)s” expired unsigned", **p
        ),
        Kind.OFFER_ENDING: lambda: _(
            "Your offer for “%(task)s” ends on %(date)s: sign or decline it", **p
        ),
        Kind.BID_MESSAGE: lambda: _("New message from %(author)s about the bid on “%(task)s”", **p),
        Kind.SAVED_SEARCH_MATCHES: lambda: _saved_search_matches(p),
        Kind.PORTFOLIO_PROPOSED: lambda: _(
            "%(number)s: %(owner)s asks to show this contract with “%(item)s” on their profile",
            **p,
        ),
        Kind.FUNDING_DUE_SOON: lambda: _(
            "%(number)s: please transfer %(amount)s for “%(milestone)s” by %(date)s", **p
        ),
        Kind.FUNDING_OVERDUE: lambda: _(
            "%(number)s: the transfer of %(amount)s for “%(milestone)s” was due on %(date)s",
            **p,
        ),
        Kind.TRANSFER_REJECTED: lambda: _(
            "%(number)s: your report of the transfer for “%(milestone)s” was not accepted", **p
        ),
    }
    text = texts[notification.kind]()
    # a digest shows its latest notification and how many more it stands for
    more = int((notification.params or {}).get(DIGEST_COUNT) or 1) - 1
    if more <= 0:
        return text
    return ngettext(
        "%(text)s — and %(num)d more like it",
        "%(text)s — and %(num)d more like it",
        more,
        text=text,
    )


def _saved_search_matches(p):
    count = int(p.get("count") or 0)
    if p.get("search"):
        return ngettext(
            "%(num)d new task matches your saved search “%(search)s”",
            "%(num)d new tasks match your saved search “%(search)s”",
            count,
            search=p["search"],
        )
    return ngettext(
        "%(num)d new task matches your saved search",
        "%(num)d new tasks match your saved search",
        count,
    )


def digest_note():
    """What a digest's e-mail adds: why no more mail of its kind follows for a while."""
    minutes = current_app.config["NOTIFICATION_DIGEST_MINUTES"]
    return _(
        "You have had many notifications like this one. Further ones within %(minutes)d "
        "minutes are gathered into this one on your notifications page instead of being "
        "sent one by one.",
        minutes=minutes,
    )


def detail(notification):
    """More text for the mail body and the list, or an empty string."""
    p = values(notification)
    reasoned = (
        Kind.BID_REJECTED,
        Kind.TASK_CANCELLED,
        Kind.CHANGES_REQUESTED,
        Kind.CANCELLATION_REQUESTED,
        Kind.DISPUTE_OPENED,
        Kind.DISPUTE_RULED,
        Kind.DISPUTE_APPEALED,
        Kind.DISPUTE_INFO_REQUESTED,
        Kind.OFFER_DECLINED,
        Kind.OFFER_WITHDRAWN,
        Kind.TRANSFER_REJECTED,
    )
    if notification.kind in reasoned and p.get("reason"):
        return _("Reason given: %(reason)s", reason=p["reason"])
    if notification.kind == Kind.QUESTION_ANSWERED:
        return _("Answer: %(answer)s", answer=p.get("answer", ""))
    if notification.kind == Kind.QUESTION_ASKED:
        return _("Question: %(question)s", question=p.get("question", ""))
    return ""
