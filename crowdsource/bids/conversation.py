"""The private conversation about a bid: the enterprise's members and the bidder's side (the
bidder, or every member of the bidding agency) write to each other, with files, from the bid
until the award. Nobody else reads it then — not other bidders, not the center's managers.
Once the bid is no longer open it is kept read-only; the winning bid's conversation is the
contract's pre-contract record, which those who may see the contract read.

Each person's unread count is the messages by others since they last opened the
conversation."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from crowdsource import uploads
from crowdsource.bids import services as bids
from crowdsource.bids.models import LIVE_STATES, Bid, BidFile, BidMessage, BidStatus, BidThreadRead
from crowdsource.contracts import files as contract_files
from crowdsource.contracts import services as contracts
from crowdsource.contracts.models import Contract
from crowdsource.db import db, utcnow
from crowdsource.errors import DomainError, NotAllowed, NotFound
from crowdsource.notifications.models import Kind
from crowdsource.notifications.services import notify
from crowdsource.tasks import access, attachments

MAX_BODY = 10_000
#: the bid states in which its two sides write to each other
OPEN_STATES = (*LIVE_STATES, BidStatus.OFFERED)


def _contract_of(bid):
    return db.session.scalar(sa.select(Contract).where(Contract.bid_id == bid.id))


def is_party(user, bid):
    """The enterprise's members and the bidder's side."""
    return bids.is_bidder(user, bid) or (
        getattr(user, "is_authenticated", False) and access.is_member(user, bid.task)
    )


def can_read(user, bid):
    """The two sides; once the bid became a contract, also whoever may see the contract."""
    if is_party(user, bid):
        return True
    contract = _contract_of(bid)
    return contract is not None and contracts.can_view(user, contract)


def require_read(user, bid):
    if not can_read(user, bid):
        raise NotFound()


def may_write(user, bid):
    return is_party(user, bid) and bid.status in OPEN_STATES


def post(actor, bid, body, file_storages, now=None):
    """A side writes about the bid (with files); the other side is told.

    Raises NotFound for anyone who may not read the conversation, NotAllowed once the bid is
    no longer open, DomainError for an empty or too long message or a file that may not be
    attached (nothing is stored then)."""
    now = now or utcnow()
    require_read(actor, bid)
    if not is_party(actor, bid):
        raise NotFound()
    if bid.status not in OPEN_STATES:
        raise NotAllowed(
            _l("The conversation is closed: the bid is %(status)s.", status=bid.status.label)
        )
    body = (body or "").strip()
    if not body:
        raise DomainError(_l("Write a message."), field="body")
    if len(body) > MAX_BODY:
        raise DomainError(_l("Keep it under %(count)d characters.", count=MAX_BODY), field="body")
    checked = contract_files.check(file_storages)
    message = BidMessage(bid_id=bid.id, author_id=actor.id, body=body, created_at=now)
    db.session.add(message)
    db.session.flush()
    for storage in checked:
        db.session.add(
            BidFile(
                message_id=message.id,
                uploaded_by_id=actor.id,
                created_at=now,
                **attachments.store(storage).columns(),
            )
        )
    mark_read(actor, bid, now)
    others = bid.task.organization.members if bids.is_bidder(actor, bid) else bid.bidder_side
    notify(
        [person for person in others if person.id != actor.id],
        Kind.BID_MESSAGE,
        f"/bids/{bid.id}#conversation",
        bid.task,
        task=bid.task.title,
        author=actor.display_name,
    )
    db.session.flush()
    return message


def messages_of(bid):
    """The bid's messages, oldest first, with their authors and files."""
    return list(
        db.session.scalars(
            sa.select(BidMessage)
            .where(BidMessage.bid_id == bid.id)
            .options(sa.orm.joinedload(BidMessage.author), sa.orm.selectinload(BidMessage.files))
            .order_by(BidMessage.created_at, BidMessage.id)
        )
    )


def mark_read(user, bid, now=None):
    """The user has read the conversation up to ``now``."""
    now = now or utcnow()
    read = db.session.get(BidThreadRead, (bid.id, user.id))
    if read is None:
        db.session.add(BidThreadRead(bid_id=bid.id, user_id=user.id, read_at=now))
    elif read.read_at < now:
        read.read_at = now
    db.session.flush()


def unread_counts(user, bid_ids):
    """Messages by others that ``user`` has not read yet, by bid id (bids without any are left
    out); one query for any number of bids."""
    if not bid_ids:
        return {}
    read = sa.orm.aliased(BidThreadRead)
    rows = db.session.execute(
        sa.select(BidMessage.bid_id, sa.func.count())
        .outerjoin(read, sa.and_(read.bid_id == BidMessage.bid_id, read.user_id == user.id))
        .where(
            BidMessage.bid_id.in_(bid_ids),
            BidMessage.author_id != user.id,
            sa.or_(read.read_at.is_(None), BidMessage.created_at > read.read_at),
        )
        .group_by(BidMessage.bid_id)
    ).all()
    return dict(rows)


def file_path(user, record):
    """The stored file of a message, if the user may read its conversation (else NotFound)."""
    require_read(user, db.session.get(Bid, record.message.bid_id))
    return uploads.folder() / record.stored_name
