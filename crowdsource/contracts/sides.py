"""The two sides of a contract: who acts for the enterprise (the client side) and who for the
solver (the solver and, for an agency's contract, the agency's members), and telling a side.

Every package that needs to know a side asks here: the contracts workflow, escrow, disputes,
funding and payouts.
"""

from crowdsource.accounts import authz
from crowdsource.contracts.models import Side
from crowdsource.errors import NotAllowed
from crowdsource.notifications.services import notify


def solver_side(contract):
    """The people who work on the contract: the solver and, for an agency's contract, the
    agency's members."""
    people = [contract.solver]
    if contract.agency is not None:
        people += contract.agency.members
    return people


def client_side(contract):
    return contract.client_organization.members


def side_of(user, contract):
    """The side the user acts for on the contract, or None."""
    if authz.can_act_for(user, contract.client_organization):
        return Side.CLIENT
    if user.id == contract.solver_id or (
        contract.agency is not None and authz.can_act_for(user, contract.agency)
    ):
        return Side.SOLVER
    return None


def require_side(user, contract, side):
    """Raises NotAllowed unless the user acts for ``side`` on the contract."""
    if side_of(user, contract) != side:
        raise NotAllowed()


def other(side):
    return Side.CLIENT if side == Side.SOLVER else Side.SOLVER


def people_of(contract, side):
    return client_side(contract) if side == Side.CLIENT else solver_side(contract)


def link(contract):
    return f"/contracts/{contract.id}"


def tell(contract, side, kind, milestone=None, **params):
    """Notify every person of ``side`` about the contract (and one of its milestones)."""
    values = {"number": contract.number, **params}
    if milestone is not None:
        values.setdefault("milestone", milestone.title)
    notify(people_of(contract, side), kind, link(contract), contract.task, **values)
