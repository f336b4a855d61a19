"""The contract document both sides sign, and its check.

The document is the contract's terms as canonical JSON (UTF-8, keys sorted, no spaces): the
task, the parties by id, the price, the milestones, the rates and the IP terms, and the
offer it was made as. It is written once, when the enterprise makes the offer, and kept on
the offer; each side signs its SHA-256. Names are left out (an organization may rename
itself without changing what was agreed); the pages and the PDF show them.

:func:`check` compares three things: the kept document with the hash each side signed (was
the kept document changed?), and the document the contract's stored terms give now with the
kept one (were the contract's terms changed since?). Either difference is shown on the
contract page and in its PDF.
"""

import dataclasses
import hashlib
import json

from crowdsource.contracts.models import Contract, Offer, Side

FORMAT = "crowdsource-contract/1"


@dataclasses.dataclass(frozen=True)
class Signer:
    """Who signs, and from where (the client's address and browser as the request saw them)."""

    user: object
    ip_address: str
    user_agent: str = ""

    @classmethod
    def of_request(cls, user, request):
        agent = (request.user_agent.string or "")[:255]
        return cls(user=user, ip_address=(request.remote_addr or "")[:45], user_agent=agent)


def _terms(
    *,
    offer_id,
    task,
    contract_type,
    ip_terms,
    center_id,
    enterprise_id,
    solver_id,
    agency_id,
    payee,
    price_fen,
    currency,
    duration_days,
    proposal,
    milestones,
    rates,
):
    return {
        "format": FORMAT,
        "offer": offer_id,
        "task": {
            "id": task.id,
            "title": task.title,
            "description": task.description,
            "contract_type": contract_type.value,
            "ip_terms": ip_terms.value,
            "center": center_id,
        },
        "enterprise": {"organization": enterprise_id},
        "solver": {"user": solver_id, "agency": agency_id},
        "payee": payee,
        "price_fen": price_fen,
        "currency": currency,
        "duration_days": duration_days,
        "proposal": proposal,
        "milestones": [
            {
                "position": m.position,
                "title": m.title,
                "amount_fen": m.amount_fen,
                "due_date": m.due_date.isoformat(),
            }
            for m in milestones
        ],
        "rates": {
            "commission_bps": rates.commission_bps,
            "client_fee_bps": rates.client_fee_bps,
            "center_share_bps": rates.center_share_bps,
            "brokerage_bps": rates.brokerage_bps,
        },
    }


def offered_terms(offer_id, task, bid, rates):
    """The terms of the contract ``bid`` would make on ``task`` under ``rates``."""
    payee_organization = bid.payee_organization or bid.agency
    payee = (
        {"organization": payee_organization.id} if payee_organization else {"user": bid.bidder_id}
    )
    return _terms(
        offer_id=offer_id,
        task=task,
        contract_type=task.contract_type,
        ip_terms=task.ip_terms,
        center_id=task.center_id,
        enterprise_id=task.organization_id,
        solver_id=bid.bidder_id,
        agency_id=bid.agency_id,
        payee=payee,
        price_fen=bid.price_fen,
        currency=bid.currency,
        duration_days=bid.duration_days,
        proposal=bid.proposal,
        milestones=bid.milestones,
        rates=rates,
    )


def contract_terms(contract: Contract):
    """The terms the contract's stored rows say now."""
    payee = (
        {"organization": contract.payee_organization_id}
        if contract.payee_organization_id
        else {"user": contract.payee_user_id}
    )
    return _terms(
        offer_id=contract.offer_id,
        task=contract.task,
        contract_type=contract.contract_type,
        ip_terms=contract.ip_terms,
        center_id=contract.center_id,
        enterprise_id=contract.client_organization_id,
        solver_id=contract.solver_id,
        agency_id=contract.agency_id,
        payee=payee,
        price_fen=contract.price_fen,
        currency=contract.currency,
        duration_days=contract.bid.duration_days,
        proposal=contract.bid.proposal,
        milestones=contract.milestones,
        rates=contract.rates,
    )


def document(terms):
    """The canonical bytes of ``terms``."""
    return json.dumps(terms, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


@dataclasses.dataclass
class Check:
    """What :func:`check` found: the signatures (enterprise's, solver side's), the hash of the
    kept document now, and whether it and the contract's terms still match what was signed."""

    signatures: dict
    document_sha256: str | None
    #: the kept document still has the hash each signature names
    document_intact: bool
    #: the contract's stored terms still give the kept document
    terms_intact: bool

    @property
    def signed(self):
        return bool(self.signatures)

    @property
    def intact(self):
        return self.document_intact and self.terms_intact


def check(contract: Contract):
    """The signatures of ``contract`` and whether its document and terms are as signed; None
    for a contract formed before signatures were kept."""
    offer: Offer | None = contract.offer
    if offer is None:
        return None
    kept = offer.document.encode()
    digest = sha256(kept)
    signatures = {signature.side: signature for signature in offer.signatures}
    document_intact = digest == offer.document_sha256 and all(
        signature.document_sha256 == digest for signature in signatures.values()
    )
    terms_intact = document(contract_terms(contract)) == kept
    complete = set(signatures) == {Side.CLIENT, Side.SOLVER}
    return Check(
        signatures=signatures,
        document_sha256=digest,
        document_intact=document_intact and complete,
        terms_intact=terms_intact,
    )
