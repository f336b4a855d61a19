"""The contract page and the list of a user's contracts."""

import sqlalchemy as sa
from flask import abort, render_template
from flask_login import current_user, login_required

from crowdsource.accounts import authz
from crowdsource.contracts import bp, services
from crowdsource.contracts.models import Contract
from crowdsource.db import db
from crowdsource.web import get_or_404


@bp.get("/contracts/<int:contract_id>")
@login_required
def show(contract_id):
    contract = get_or_404(Contract, contract_id)
    if not services.can_view(current_user, contract):
        abort(404)
    return render_template("contracts/show.html", contract=contract)


@bp.get("/contracts")
@login_required
def mine():
    organizations = authz.organization_ids_of(current_user)
    condition = sa.or_(
        Contract.solver_id == current_user.id,
        Contract.payee_user_id == current_user.id,
        Contract.client_organization_id.in_(organizations),
        Contract.agency_id.in_(organizations),
        Contract.payee_organization_id.in_(organizations),
    )
    contracts = db.session.scalars(
        sa.select(Contract)
        .where(condition)
        .options(sa.orm.joinedload(Contract.task), sa.orm.joinedload(Contract.client_organization))
        .order_by(Contract.signed_at.desc())
    ).all()
    return render_template("contracts/mine.html", contracts=contracts)
