"""Awarding is an offer both sides sign: the enterprise signs when it offers, the winning side
signs (or declines with a reason) within OFFER_DAYS; the contract exists only once both signed,
and the page and the PDF show who signed, when, from where and which SHA-256, and say so when
the document or the terms changed since."""

import datetime as dt
import hashlib
import html
import io
import json
import re

import pypdf
import pytest
import sqlalchemy as sa

from crowdsource.bids import offers
from crowdsource.bids.models import Bid, BidStatus
from crowdsource.contracts.models import Contract, Milestone, Offer, OfferStatus, Signature
from crowdsource.contracts.signing import Signer
from crowdsource.db import db, transaction
from crowdsource.notifications.models import Kind
from crowdsource.sweep import sweep_due
from crowdsource.tasks import services as task_services
from crowdsource.tasks.models import Task, TaskStatus
from tests.bids.support import mails_to, notifications_of, reload
from tests.helpers import add_member, form_errors, table_counts

ENTERPRISE_ADDRESS, SOLVER_ADDRESS = "198.51.100.7", "203.0.113.45"


def page(response):
    return response.get_data(as_text=True)


@pytest.fixture
def bids(make_bid, make_user, market, brokers):
    """The solver's bid and an agency's, on the market's open task."""
    solo = make_bid(market.solver, market.task, price_fen=5_500_000)
    brokered = make_bid(brokers.broker, market.task, price_fen=7_000_000, agency=brokers.agency)
    return [solo, brokered]


def as_from(client, address):
    client.environ_base["REMOTE_ADDR"] = address
    return client


def offer_to(client, login, market, bid):
    """The owner offers the contract to ``bid`` from the enterprise's address; the offer."""
    login(market.owner)
    response = as_from(client, ENTERPRISE_ADDRESS).post(f"/bids/{bid.id}/award")
    assert response.status_code == 302, page(response)
    offer_id = int(re.search(r"/offers/(\d+)$", response.headers["Location"]).group(1))
    return db.session.get(Offer, offer_id)


def contracts():
    return db.session.scalars(sa.select(Contract)).all()


def pdf_text(response):
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    return "\n".join(p.extract_text() for p in reader.pages)


def test_the_winner_signs_and_both_signatures_with_the_hash_are_on_the_page_and_in_the_pdf(
    client, login, market, bids, outbox
):
    solo, brokered = bids
    offer = offer_to(client, login, market, solo)

    # offering while bidding was open ended it, for every bidder
    assert reload(Task, market.task.id).status == TaskStatus.CLOSED
    assert reload(Bid, solo.id).status == BidStatus.OFFERED
    assert reload(Bid, brokered.id).status == BidStatus.SUBMITTED
    assert contracts() == []
    # the document offered can be downloaded, and its SHA-256 is what the enterprise signed
    document = client.get(f"/offers/{offer.id}/document.json")
    assert document.status_code == 200
    digest = hashlib.sha256(document.data).hexdigest()
    terms = json.loads(document.data)
    assert terms["price_fen"] == 5_500_000 and terms["offer"] == offer.id
    [enterprise] = db.session.scalars(sa.select(Signature)).all()
    assert (enterprise.user_id, enterprise.ip_address) == (market.owner.id, ENTERPRISE_ADDRESS)
    assert enterprise.document_sha256 == digest == offer.document_sha256
    # the winner is told by notification and mail, and reads the offer
    [told] = notifications_of(market.solver, Kind.OFFER_RECEIVED)
    assert told.link == f"/offers/{offer.id}"
    assert any("You are offered the contract" in m.subject for m in mails_to(outbox, market.solver))
    login(market.solver)
    shown = page(as_from(client, SOLVER_ADDRESS).get(f"/offers/{offer.id}"))
    assert "Accept and sign" in shown and digest in shown and "¥55,000.00" in shown

    response = client.post(f"/offers/{offer.id}/accept")

    [contract] = contracts()
    assert response.headers["Location"].endswith(f"/contracts/{contract.id}")
    assert (contract.bid_id, contract.offer_id) == (solo.id, offer.id)
    assert reload(Task, market.task.id).status == TaskStatus.AWARDED
    assert reload(Bid, brokered.id).status == BidStatus.REJECTED
    solver_signature = db.session.scalar(
        sa.select(Signature).where(Signature.user_id == market.solver.id)
    )
    assert solver_signature.ip_address == SOLVER_ADDRESS
    assert solver_signature.document_sha256 == digest
    [formed] = notifications_of(market.owner, Kind.OFFER_ACCEPTED)
    assert formed.link == f"/contracts/{contract.id}"

    shown = page(client.get(f"/contracts/{contract.id}"))
    assert 'data-testid="signatures-intact"' in shown
    assert shown.count(digest) >= 3  # the document's, and each side's
    assert ENTERPRISE_ADDRESS in shown and SOLVER_ADDRESS in shown
    text = pdf_text(client.get(f"/contracts/{contract.id}/document.pdf?lang=en"))
    flat = text.replace("\n", "")
    assert "Signatures" in text and market.owner.display_name in text
    assert market.solver.display_name in text
    assert ENTERPRISE_ADDRESS in text and SOLVER_ADDRESS in text
    assert digest in flat
    assert "the contract’s terms still match it" in flat


def test_only_the_winning_side_signs_and_only_the_bid_s_viewers_see_the_offer(
    client, login, market, bids, brokers, make_user
):
    brokered = bids[1]
    offer = offer_to(client, login, market, brokered)
    colleague = make_user(name="Agency colleague")
    add_member(colleague, brokers.agency)
    login(market.colleague)  # the enterprise sees the offer but does not sign for the winner
    assert client.get(f"/offers/{offer.id}").status_code == 200
    assert client.post(f"/offers/{offer.id}/accept").status_code == 403
    for outsider in (market.solver, make_user()):  # another bidder, a stranger
        login(outsider)
        assert client.get(f"/offers/{offer.id}").status_code == 404
        assert client.get(f"/offers/{offer.id}/document.json").status_code == 404
        assert client.post(f"/offers/{offer.id}/accept").status_code == 404
        assert (
            client.post(f"/offers/{offer.id}/decline", data={"decline-reason": "x"}).status_code
            == 404
        )
    login(colleague)  # any member of the winning agency may sign, but not without the token
    before = table_counts()
    assert client.post(f"/offers/{offer.id}/accept", csrf=False).status_code == 400
    assert table_counts() == before
    assert client.post(f"/offers/{offer.id}/accept").status_code == 302
    [contract] = contracts()
    assert contract.agency_id == brokers.agency.id


def test_a_declined_offer_tells_the_enterprise_why_and_another_bid_may_be_offered(
    client, login, market, bids, outbox
):
    solo, brokered = bids
    offer = offer_to(client, login, market, solo)
    login(market.solver)
    before = table_counts()

    refused = client.post(f"/offers/{offer.id}/decline", data={"decline-reason": "   "})

    assert refused.status_code == 400
    assert form_errors(refused)["decline-reason"] == ["This field is required."]
    assert table_counts() == before
    reason = "We cannot start before March. " * 80  # too long: kept as typed
    refused = client.post(f"/offers/{offer.id}/decline", data={"decline-reason": reason})
    assert refused.status_code == 400
    typed = re.search(r'<textarea[^>]*name="decline-reason"[^>]*>([^<]*)</textarea>', page(refused))
    assert typed and html.unescape(typed.group(1)).strip() == reason.strip()

    response = client.post(f"/offers/{offer.id}/decline", data={"decline-reason": "Too busy."})

    assert response.status_code == 302
    assert reload(Offer, offer.id).status == OfferStatus.DECLINED
    assert reload(Bid, solo.id).status == BidStatus.DECLINED
    assert client.post(f"/offers/{offer.id}/accept").status_code == 400  # too late to sign
    [told] = notifications_of(market.owner, Kind.OFFER_DECLINED)
    assert told.params["reason"] == "Too busy."
    assert any("Reason given: Too busy." in m.body for m in mails_to(outbox, market.owner))
    assert contracts() == []
    # the enterprise offers the other bid, whose agency signs
    second = offer_to(client, login, market, brokered)
    login(brokered.bidder)
    assert client.post(f"/offers/{second.id}/accept").status_code == 302
    [contract] = contracts()
    assert contract.bid_id == brokered.id


def test_an_offer_nobody_answers_lapses_after_offer_days_with_one_reminder_the_day_before(
    app, client, login, market, bids, clock
):
    solo, brokered = bids
    offer = offer_to(client, login, market, solo)
    assert app.config["OFFER_DAYS"] == 5
    assert offer.expires_at - offer.created_at == dt.timedelta(days=5)

    clock.advance(days=3)
    with transaction():
        assert sweep_due()["offer_reminders"] == 0
    clock.advance(days=1, hours=1)  # within a day of the end
    for _ in range(2):
        with transaction():
            sweep_due()
    assert len(notifications_of(market.solver, Kind.OFFER_ENDING)) == 1
    assert reload(Offer, offer.id).status == OfferStatus.OPEN

    clock.advance(days=1)  # past the end: signing is refused even before the sweep ran
    login(market.solver)
    refused = client.post(f"/offers/{offer.id}/accept")
    assert refused.status_code == 400 and "This offer expired unanswered." in page(refused)
    assert contracts() == []
    for expected in (1, 0):  # the sweep lets it lapse, once
        with transaction():
            assert sweep_due()["offers_expired"] == expected
    assert reload(Offer, offer.id).status == OfferStatus.EXPIRED
    assert reload(Bid, solo.id).status == BidStatus.LAPSED
    assert len(notifications_of(market.owner, Kind.OFFER_EXPIRED)) == 1
    # the enterprise may offer another bid
    assert offer_to(client, login, market, brokered).status == OfferStatus.OPEN


def test_the_sweep_lets_an_offer_lapse(client, login, market, bids, clock):
    offer = offer_to(client, login, market, bids[0])
    clock.advance(days=6)
    with transaction():
        assert sweep_due()["offers_expired"] == 1
    assert reload(Offer, offer.id).status == OfferStatus.EXPIRED
    assert len(notifications_of(market.solver, Kind.OFFER_EXPIRED)) == 1


def test_the_enterprise_withdraws_an_open_offer_with_a_reason(client, login, market, bids):
    solo = bids[0]
    offer = offer_to(client, login, market, solo)
    refused = client.post(f"/offers/{offer.id}/withdraw", data={"withdraw-reason": ""})
    assert refused.status_code == 400 and form_errors(refused)["withdraw-reason"]

    assert (
        client.post(
            f"/offers/{offer.id}/withdraw", data={"withdraw-reason": "Budget cut."}
        ).status_code
        == 302
    )

    assert reload(Offer, offer.id).status == OfferStatus.WITHDRAWN
    assert reload(Bid, solo.id).status == BidStatus.SHORTLISTED
    [told] = notifications_of(market.solver, Kind.OFFER_WITHDRAWN)
    assert told.params["reason"] == "Budget cut."
    login(market.solver)
    assert client.post(f"/offers/{offer.id}/accept").status_code == 400
    assert "Budget cut." in page(client.get(f"/offers/{offer.id}"))


def test_one_offer_is_open_at_a_time(client, login, market, bids):
    solo, brokered = bids
    offer_to(client, login, market, solo)
    before = table_counts()
    response = client.post(f"/bids/{brokered.id}/award")
    assert response.status_code == 409
    assert "Another bid has been offered the contract" in page(response)
    assert table_counts() == before
    shown = page(client.get(f"/tasks/{market.task.id}/bids"))
    assert 'data-testid="open-offer"' in shown and "Offer the contract</button>" not in shown


def test_cancelling_the_task_withdraws_its_open_offer(client, login, market, bids):
    solo = bids[0]
    offer = offer_to(client, login, market, solo)
    with transaction():
        task_services.cancel_task(market.owner, reload(Task, market.task.id), "Project stopped.")
    assert reload(Offer, offer.id).status == OfferStatus.WITHDRAWN
    assert [reload(Bid, bid.id).status for bid in bids] == [BidStatus.REJECTED] * 2
    assert len(notifications_of(market.solver, Kind.TASK_CANCELLED)) == 1


def test_changed_terms_or_a_changed_document_are_shown_on_the_contract_and_in_its_pdf(
    client, login, market, bids
):
    with transaction():
        task_services.close_bidding(market.owner, market.task)
        contract = offers.sign_both(market.owner, reload(Bid, bids[0].id))
    login(market.owner)
    assert 'data-testid="signatures-intact"' in page(client.get(f"/contracts/{contract.id}"))
    # someone with database access moves money between milestones of the signed contract
    first, second = (m.id for m in contract.milestones)
    with transaction():
        db.session.execute(
            sa.update(Milestone)
            .where(Milestone.id == first)
            .values(amount_fen=Milestone.amount_fen + 100)
        )
        db.session.execute(
            sa.update(Milestone)
            .where(Milestone.id == second)
            .values(amount_fen=Milestone.amount_fen - 100)
        )
    shown = page(client.get(f"/contracts/{contract.id}"))
    assert "The contract’s terms no longer match the document both sides signed" in shown
    flat = pdf_text(client.get(f"/contracts/{contract.id}/document.pdf?lang=en")).replace("\n", " ")
    assert "no longer match the document both sides signed" in flat
    # and the kept document itself is changed to match
    with transaction():
        offer = db.session.get(Offer, contract.offer_id)
        document = json.loads(offer.document)
        document["milestones"][0]["amount_fen"] += 100
        document["milestones"][1]["amount_fen"] -= 100
        db.session.execute(
            sa.update(Offer)
            .where(Offer.id == offer.id)
            .values(
                document=json.dumps(
                    document, sort_keys=True, ensure_ascii=False, separators=(",", ":")
                )
            )
        )
    shown = page(client.get(f"/contracts/{contract.id}"))
    assert "no longer has the SHA-256 its signatures name" in shown


def test_an_offer_by_service_needs_a_member_of_the_enterprise(market, bids, brokers):
    with pytest.raises(Exception) as refused, transaction():
        offers.offer_bid(Signer(brokers.broker, "192.0.2.1"), reload(Bid, bids[0].id))
    assert getattr(refused.value, "status_code", None) in (403, 404)
    assert db.session.scalars(sa.select(Offer)).all() == []
