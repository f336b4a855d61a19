"""Portfolio items and certifications on the public profiles of solvers and agencies.

A person manages their own; an organization's owners manage the organization's. A portfolio
item may link a completed contract the owner was paid for (as the solver, the agency or the
payee) only once both sides agreed: the owner proposes it, a member of the contract's
enterprise consents, and either side may withdraw it again. The link shows the contract's title
and type, never its files: a portfolio item carries only the files uploaded to it, which are
public like the profile. Uploads follow the rules and storage of contract files.
"""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from crowdsource import uploads
from crowdsource.accounts import authz
from crowdsource.accounts.models import Organization, User
from crowdsource.contracts import files as contract_files
from crowdsource.contracts import sides
from crowdsource.contracts.models import Contract, ContractStatus
from crowdsource.db import after_commit, db, lock, utcnow
from crowdsource.errors import Conflict, DomainError, NotAllowed
from crowdsource.notifications.models import Kind
from crowdsource.notifications.services import notify
from crowdsource.profiles.models import IMAGE_TYPES, Certification, PortfolioFile, PortfolioItem
from crowdsource.tasks import attachments

MAX_ITEMS = 50
MAX_FILES_PER_ITEM = 10
#: the years a certification may be from
EARLIEST_YEAR = 1950


def may_edit(actor, owner):
    """May the actor change the portfolio and certifications of ``owner`` (a person: only
    themselves; an organization: its owners)?"""
    if not getattr(actor, "is_authenticated", False) or owner is None:
        return False
    if isinstance(owner, User):
        return actor.id == owner.id
    return authz.is_owner(actor, owner)


def require_edit(actor, owner):
    if not may_edit(actor, owner):
        raise NotAllowed()


def _owned_by(model, owner):
    if isinstance(owner, Organization):
        return model.organization_id == owner.id
    return model.user_id == owner.id


def _owner_columns(owner):
    return {
        "user_id": owner.id if isinstance(owner, User) else None,
        "organization_id": owner.id if isinstance(owner, Organization) else None,
    }


def items_of(owner):
    """The owner's portfolio items in their order."""
    return list(
        db.session.scalars(
            sa.select(PortfolioItem)
            .where(_owned_by(PortfolioItem, owner))
            .order_by(PortfolioItem.position, PortfolioItem.id)
        )
    )


def certifications_of(owner):
    """The owner's certifications, newest year first."""
    return list(
        db.session.scalars(
            sa.select(Certification)
            .where(_owned_by(Certification, owner))
            .order_by(Certification.year.desc(), Certification.id)
        )
    )


def _checked_text(title, description):
    title = (title or "").strip()
    if not title:
        raise DomainError(_l("This field is required."), field="title")
    return title[:200], (description or "").strip()


def add_item(actor, owner, title, description="", file_storages=()):
    """Add a portfolio item (last in the order) with its files. Raises NotAllowed for anyone
    who may not edit the owner's profile, DomainError at the field for a missing title or a
    file the contract-file rules refuse."""
    require_edit(actor, owner)
    title, description = _checked_text(title, description)
    if len(items_of(owner)) >= MAX_ITEMS:
        raise DomainError(_l("A portfolio has at most %(count)d items.", count=MAX_ITEMS))
    last = db.session.scalar(
        sa.select(sa.func.max(PortfolioItem.position)).where(_owned_by(PortfolioItem, owner))
    )
    item = PortfolioItem(
        title=title,
        description=description,
        position=(last or 0) + 1,
        **_owner_columns(owner),
    )
    db.session.add(item)
    db.session.flush()
    add_files(actor, item, file_storages)
    return item


def update_item(actor, item, title, description="", file_storages=()):
    """Change an item's title and description and add files to it (raises as add_item)."""
    require_edit(actor, item.owner)
    item = lock(PortfolioItem, item.id)
    item.title, item.description = _checked_text(title, description)
    add_files(actor, item, file_storages)
    db.session.flush()
    return item


def add_files(actor, item, file_storages):
    """Store checked files on the item (the same checks and storage as contract files)."""
    require_edit(actor, item.owner)
    checked = contract_files.check(file_storages)
    if len(item.files) + len(checked) > MAX_FILES_PER_ITEM:
        raise DomainError(
            _l("An item has at most %(count)d files.", count=MAX_FILES_PER_ITEM), field="files"
        )
    for storage in checked:
        item.files.append(
            PortfolioFile(uploaded_by_id=actor.id, **attachments.store(storage).columns())
        )
    db.session.flush()


def remove_file(actor, portfolio_file):
    """Remove a file of an item; the stored file is deleted after the commit."""
    require_edit(actor, portfolio_file.item.owner)
    path = uploads.folder() / portfolio_file.stored_name
    db.session.delete(portfolio_file)
    db.session.flush()
    after_commit(path.unlink, missing_ok=True)


def delete_item(actor, item):
    """Delete an item with its files (removed from disk after the commit)."""
    require_edit(actor, item.owner)
    paths = [uploads.folder() / f.stored_name for f in item.files]
    db.session.delete(item)
    db.session.flush()
    for path in paths:
        after_commit(path.unlink, missing_ok=True)


def move_item(actor, item, step):
    """Move an item one place up (``step`` -1) or down (+1) in its owner's order."""
    require_edit(actor, item.owner)
    items = items_of(item.owner)
    index = next(i for i, other in enumerate(items) if other.id == item.id)
    target = index + (1 if step > 0 else -1)
    if not 0 <= target < len(items):
        return item
    items[index], items[target] = items[target], items[index]
    for position, other in enumerate(items, 1):
        other.position = position
    db.session.flush()
    return item


# --- the link to a completed contract --------------------------------------------------------


def _solver_side_of(owner):
    """The condition on Contract that the owner was paid on its solver side."""
    if isinstance(owner, Organization):
        return sa.or_(Contract.agency_id == owner.id, Contract.payee_organization_id == owner.id)
    return sa.or_(
        sa.and_(Contract.solver_id == owner.id, Contract.agency_id.is_(None)),
        Contract.payee_user_id == owner.id,
    )


def linkable_contracts(owner):
    """The completed contracts the owner may propose to show (its side did the work)."""
    return list(
        db.session.scalars(
            sa.select(Contract)
            .where(Contract.status == ContractStatus.COMPLETED, _solver_side_of(owner))
            .order_by(Contract.completed_at.desc(), Contract.id.desc())
        )
    )


def may_consent(actor, item):
    """May the actor agree (or decline, or withdraw agreement) for the enterprise side?"""
    return item.contract is not None and authz.can_act_for(actor, item.contract.client_organization)


def propose_contract(actor, item, contract_id):
    """The owner proposes to show a completed contract of theirs with the item; the
    enterprise side is told and must agree before anything shows. Raises NotAllowed for anyone
    but the owner's editors, DomainError at ``contract_id`` for a contract not theirs or not
    completed."""
    require_edit(actor, item.owner)
    owner = item.owner
    contract = db.session.get(Contract, contract_id) if contract_id else None
    if contract is None or contract.id not in {c.id for c in linkable_contracts(owner)}:
        raise DomainError(
            _l("Choose a completed contract your side was paid for."), field="contract_id"
        )
    item = lock(PortfolioItem, item.id)
    item.contract_id = contract.id
    item.contract_proposed_at = utcnow()
    item.contract_consented_at = None
    item.contract_consented_by_id = None
    db.session.flush()
    notify(
        sides.client_side(contract),
        Kind.PORTFOLIO_PROPOSED,
        f"/portfolio/items/{item.id}/contract",
        contract.task,
        number=contract.number,
        owner=getattr(owner, "name", None) or owner.display_name,
        item=item.title,
    )
    return item


def consent_contract(actor, item):
    """A member of the contract's enterprise agrees to show it: the link appears. Raises
    NotAllowed for anyone else, Conflict when nothing is proposed or it is agreed already."""
    if not may_consent(actor, item):
        raise NotAllowed()
    item = lock(PortfolioItem, item.id)
    if item.contract_id is None:
        raise Conflict(_l("No contract is proposed for this item."))
    if item.contract_consented_at is not None:
        raise Conflict(_l("Your side has already agreed to show this contract."))
    item.contract_consented_at = utcnow()
    item.contract_consented_by_id = actor.id
    db.session.flush()
    return item


def may_withdraw(actor, item):
    return item.contract_id is not None and (
        may_edit(actor, item.owner) or may_consent(actor, item)
    )


def withdraw_contract(actor, item):
    """Either side takes the link back (a proposal declined, or an agreement withdrawn): the
    contract no longer shows with the item. Raises NotAllowed for anyone else."""
    if not may_withdraw(actor, item):
        raise NotAllowed()
    item = lock(PortfolioItem, item.id)
    item.contract_id = None
    item.contract_proposed_at = None
    item.contract_consented_at = None
    item.contract_consented_by_id = None
    db.session.flush()
    return item


# --- certifications ------------------------------------------------------------------------


def add_certification(actor, owner, name, issuer, year, file_storage=None):
    """Add a certification with an optional scan (checked like contract files). Raises
    NotAllowed for anyone who may not edit the owner's profile, DomainError at the field for a
    missing name or issuer, a year outside EARLIEST_YEAR to this year or a refused file."""
    require_edit(actor, owner)
    name, issuer = (name or "").strip(), (issuer or "").strip()
    if not name:
        raise DomainError(_l("This field is required."), field="name")
    if not issuer:
        raise DomainError(_l("This field is required."), field="issuer")
    this_year = utcnow().year
    if not isinstance(year, int) or not EARLIEST_YEAR <= year <= this_year:
        raise DomainError(
            _l("Give a year from %(first)d to %(last)d.", first=EARLIEST_YEAR, last=this_year),
            field="year",
        )
    certification = Certification(
        name=name[:200], issuer=issuer[:200], year=year, **_owner_columns(owner)
    )
    checked = contract_files.check([file_storage] if file_storage else [])
    for storage in checked:
        stored = attachments.store(storage)
        certification.original_name = stored.original_name
        certification.stored_name = stored.stored_name
        certification.content_type = stored.content_type
    db.session.add(certification)
    db.session.flush()
    return certification


def delete_certification(actor, certification):
    require_edit(actor, certification.owner)
    stored = certification.stored_name
    db.session.delete(certification)
    db.session.flush()
    if stored:
        after_commit((uploads.folder() / stored).unlink, missing_ok=True)


# --- public files --------------------------------------------------------------------------


def public_path(stored_name):
    """The stored file of a portfolio file or a certification's scan (public: they are on a
    profile). Only names these tables hold are served, so no contract file can be reached."""
    return uploads.folder() / stored_name


def is_image(content_type):
    return content_type in IMAGE_TYPES
