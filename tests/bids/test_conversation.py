"""The private conversation about a bid: the enterprise and the bidder's side write to each
other with files, are told and see unread counts; nobody else reads it until the bid has become
a contract, whose pre-contract record it then is."""

import html
import io
import re

import pytest
import sqlalchemy as sa

from crowdsource.accounts import centers as center_services
from crowdsource.bids import offers
from crowdsource.bids.models import Bid, BidFile, BidMessage
from crowdsource.db import db, transaction
from crowdsource.notifications.models import Kind
from crowdsource.tasks import services as task_services
from tests.bids.support import mails_to, notifications_of, reload
from tests.helpers import add_member, form_errors, table_counts

PDF = b"%PDF-1.4\n% a drawing\n"


def page(response):
    return response.get_data(as_text=True)


@pytest.fixture
def bids(make_bid, market, brokers):
    solo = make_bid(market.solver, market.task, price_fen=5_500_000)
    brokered = make_bid(
        brokers.broker,
        market.task,
        price_fen=7_000_000,
        agency=brokers.agency,
        payee_organization=brokers.institution,
        brokerage_bps=1000,
    )
    return [solo, brokered]


def write(client, bid, body, files=()):
    data = {"body": body, "files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(f"/bids/{bid.id}/messages", data=data, content_type="multipart/form-data")


def messages_of(bid):
    return db.session.scalars(sa.select(BidMessage).where(BidMessage.bid_id == bid.id)).all()


def test_the_bidder_and_the_enterprise_write_with_files_and_see_what_is_unread(
    client, login, market, bids, outbox
):
    solo = bids[0]
    login(market.solver)
    response = write(client, solo, "Could the line stop for a day?", [("drawing.pdf", PDF)])
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/bids/{solo.id}#conversation")
    for member in (market.owner, market.colleague):
        [told] = notifications_of(member, Kind.BID_MESSAGE)
        assert told.link == f"/bids/{solo.id}#conversation"
        assert told.params["author"] == market.solver.display_name
    assert any("New message from" in m.subject for m in mails_to(outbox, market.owner))

    login(market.owner)
    compare = page(client.get(f"/tasks/{market.task.id}/bids"))
    assert "1 unread message" in compare
    shown = page(client.get(f"/bids/{solo.id}"))
    assert "Could the line stop for a day?" in shown and "drawing.pdf" in shown
    [record] = db.session.scalars(sa.select(BidFile)).all()
    download = client.get(f"/bid-files/{record.id}")
    assert download.status_code == 200 and download.data == PDF
    assert "unread message" not in page(client.get(f"/tasks/{market.task.id}/bids"))
    assert write(client, solo, "Yes, on a Sunday.").status_code == 302

    login(market.solver)
    assert "1 unread message" in page(client.get("/bids/mine"))
    assert "Yes, on a Sunday." in page(client.get(f"/bids/{solo.id}"))
    assert "unread message" not in page(client.get("/bids/mine"))


def test_nobody_else_reads_or_writes_the_conversation_while_the_bid_is_open(
    client, login, market, bids, brokers, make_user, centers
):
    solo = bids[0]
    login(market.solver)
    write(client, solo, "Private detail of our method.", [("method.pdf", PDF)])
    [record] = db.session.scalars(sa.select(BidFile)).all()
    manager = make_user(name="Center manager")
    with transaction():
        center_services.make_manager(manager, centers["qingdao"])
    for other in (brokers.broker, make_user(name="Stranger")):  # another bidder, an outsider
        login(other)
        assert client.get(f"/bids/{solo.id}").status_code == 404
        assert write(client, solo, "Let me in.").status_code == 404
        assert client.get(f"/bid-files/{record.id}").status_code == 404
    login(manager)  # may see the bid, but not the conversation
    shown = client.get(f"/bids/{solo.id}")
    assert shown.status_code == 200 and "Private detail" not in page(shown)
    assert 'data-testid="conversation"' not in page(shown)
    assert write(client, solo, "Manager here.").status_code == 404
    assert client.get(f"/bid-files/{record.id}").status_code == 404
    assert [m.body for m in messages_of(solo)] == ["Private detail of our method."]


def test_a_refused_message_comes_back_as_typed_and_stores_nothing(client, login, market, bids):
    solo = bids[0]
    login(market.solver)
    before = table_counts()
    empty = write(client, solo, "   ")
    assert empty.status_code == 400 and form_errors(empty)["body"]
    typed = "Here is our plan, see the attachment."
    refused = write(client, solo, typed, [("run.exe", b"MZ\x90\x00")])
    assert refused.status_code == 400
    assert form_errors(refused)["files"]
    body = re.search(r'<textarea[^>]*name="body"[^>]*>([^<]*)</textarea>', page(refused))
    assert body and html.unescape(body.group(1)).strip() == typed
    assert table_counts() == before


def test_after_the_award_the_conversation_is_the_contracts_pre_contract_record(
    client, login, market, bids, brokers, make_user, centers
):
    solo, brokered = bids
    login(brokers.broker)
    write(client, brokered, "We propose the university's lab for the trial.")
    login(market.solver)
    write(client, solo, "Our offer stands.")
    manager = make_user(name="Center manager")
    with transaction():
        center_services.make_manager(manager, centers["qingdao"])
    with transaction():
        task_services.close_bidding(market.owner, market.task)
        contract = offers.sign_both(market.owner, reload(Bid, brokered.id))

    login(market.owner)
    shown = page(client.get(f"/contracts/{contract.id}"))
    assert f'href="/bids/{brokered.id}#conversation"' in shown
    refused = write(client, brokered, "One more thing.")
    assert refused.status_code == 403
    assert len(messages_of(brokered)) == 1
    # whoever may see the contract reads its pre-contract record: the payee, the managers
    for reader in (brokers.professor, manager):
        login(reader)
        shown = page(client.get(f"/bids/{brokered.id}"))
        assert "the university&#39;s lab" in shown or "the university's lab" in shown
        assert 'data-testid="bid-message-form"' not in shown
    # the losing bid's conversation stays between its two sides
    login(manager)
    assert "Our offer stands." not in page(client.get(f"/bids/{solo.id}"))
    login(brokers.professor)
    assert client.get(f"/bids/{solo.id}").status_code == 404


def test_every_member_of_the_bidding_agency_is_told_of_the_enterprises_message(
    client, login, market, bids, brokers, make_user
):
    colleague = make_user(name="Agency colleague")
    add_member(colleague, brokers.agency)
    login(market.colleague)
    assert write(client, bids[1], "Can you start in May?").status_code == 302
    for member in (brokers.broker, colleague):
        assert len(notifications_of(member, Kind.BID_MESSAGE)) == 1
    assert notifications_of(market.owner, Kind.BID_MESSAGE) == []  # its own side: not told
