"""Messages on a contract: the two parties write to each other (with files); the managers of
the contract's center read along."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from crowdsource.contracts import files
from crowdsource.contracts.models import ContractMessage, Side
from crowdsource.contracts.sides import client_side, side_of, solver_side
from crowdsource.db import db, utcnow
from crowdsource.errors import DomainError, NotAllowed
from crowdsource.notifications.models import Kind
from crowdsource.notifications.services import notify

MAX_BODY = 10_000


def writing_refusal(actor, contract):
    """Only the parties write; a manager of the center reads the messages but does not write."""
    if side_of(actor, contract) is None:
        return NotAllowed(_l("Only the parties of the contract write messages on it."))
    return None


def post_message(actor, contract, body, file_storages, now=None):
    """A party of the contract writes a message (with files); the other side is notified.

    Raises NotAllowed for anyone who does not act for a party (a manager of the center reads
    the messages but does not write), DomainError for an empty or too long message or a file
    that may not be attached (nothing is stored then)."""
    refusal = writing_refusal(actor, contract)
    if refusal is not None:
        raise refusal
    side = side_of(actor, contract)
    body = (body or "").strip()
    if not body:
        raise DomainError(_l("Write a message."), field="body")
    if len(body) > MAX_BODY:
        raise DomainError(_l("Keep it under %(count)d characters.", count=MAX_BODY), field="body")
    uploads = files.check(file_storages)
    message = ContractMessage(
        contract_id=contract.id, author_id=actor.id, body=body, created_at=now or utcnow()
    )
    db.session.add(message)
    db.session.flush()
    files.attach(actor, contract, uploads, message=message)
    other = solver_side(contract) if side == Side.CLIENT else client_side(contract)
    notify(
        [person for person in other if person.id != actor.id],
        Kind.CONTRACT_MESSAGE,
        f"/contracts/{contract.id}#messages",
        contract.task,
        number=contract.number,
        author=actor.display_name,
    )
    return message


#: messages on one page of a contract
MESSAGES_PER_PAGE = 30


def page_of_contract(contract, page=1):
    """One page of the contract's messages, counted from the latest: page 1 holds the latest
    ``MESSAGES_PER_PAGE``, page 2 those before them (a Flask-SQLAlchemy Pagination whose
    ``items`` are oldest first, as the page shows them); a page past the end is empty."""
    latest_first = (
        _query(contract)
        .order_by(None)
        .order_by(ContractMessage.created_at.desc(), ContractMessage.id.desc())
    )
    pages = db.paginate(latest_first, page=page, per_page=MESSAGES_PER_PAGE, error_out=False)
    pages.items = list(reversed(pages.items))
    return pages


def of_contract(contract):
    """The contract's messages, oldest first, with their files and authors."""
    return list(db.session.scalars(_query(contract)))


def _query(contract):
    return (
        sa.select(ContractMessage)
        .where(ContractMessage.contract_id == contract.id)
        .options(
            sa.orm.selectinload(ContractMessage.files), sa.orm.joinedload(ContractMessage.author)
        )
        .order_by(ContractMessage.created_at, ContractMessage.id)
    )
