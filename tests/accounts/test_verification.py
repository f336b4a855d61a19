"""Real-name verification (实名认证): a person applies with a legal name and resident ID number,
an organization's owner with its credit code and business licence; a manager of the request's
center (or one above it) or the admin approves or refuses it with a reason, the admin revokes.
The ID number is kept nowhere but as a keyed hash and its last four characters; the licence is
seen only by the organization's members, its center's managers (and those above) and the admin;
every decision is in the audit trail with who made it."""

import io
import logging

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from crowdsource import audit
from crowdsource.accounts import credit_code, orgs, verification
from crowdsource.accounts.models import VerificationStatus
from crowdsource.db import db, transaction
from crowdsource.errors import AlreadyDone, DomainError
from tests.helpers import PDF, PNG, form_errors, pdf_file, stored_counts, stored_files

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")

#: the standard's example number (Beijing, born 31 December 1949), as a person may type it
NUMBER = "11010519491231002X"
TYPED = "110105 19491231 002x"
OTHER_NUMBER = "370202199003071233"


def apply_as_person(client, center, number=TYPED, legal_name="赵敏"):
    return client.post(
        "/account/real-name",
        data={"legal_name": legal_name, "id_number": number, "center_id": center.id},
    )


def apply_for(client, organization, licence=None, code=None):
    return client.post(
        f"/orgs/{organization.id}/verification",
        data={
            "credit_code": code or organization.credit_code,
            "licence": licence or pdf_file("营业执照.pdf"),
        },
    )


def latest(subject):
    db.session.expire_all()
    return verification.latest_of(subject)


def moves(application):
    """(action, from, to, actor id, reason) of the request's audit trail."""
    return [
        (event.action, event.from_state, event.to_state, event.actor_id, event.reason)
        for event in audit.trail("verification", application.id)
    ]


@pytest.fixture
def applicant(make_user):
    return make_user(name="Zhao Min", email="zhao.min@example.com", real_name_verified=False)


@pytest.fixture
def optics(people, make_user, make_org):
    """An unverified enterprise of Laoshan (below Qingdao, below Shandong) and its owner."""
    owner = make_user(name="Wang Fang", email="wang.fang@optics.example")
    organization = make_org(
        owner, name="Laoshan Optics", center=people.centers["laoshan"], verified=False
    )
    return owner, organization


# --- a person ------------------------------------------------------------------------------------


def test_a_person_applies_and_a_manager_of_the_chosen_center_approves(
    client, login, people, applicant
):
    login(applicant)
    assert 'data-testid="verification-form"' in client.get("/account/real-name").text
    response = apply_as_person(client, people.centers["qingdao"])
    assert response.status_code == 302
    application = latest(applicant)
    assert (application.status, application.legal_name) == (VerificationStatus.PENDING, "赵敏")
    assert application.id_number_last_four == "002X"
    page = client.get("/account/real-name").text
    assert "waiting for review" in page and "ending in 002X" in page
    assert 'data-testid="verification-form"' not in page

    manager = people.managers["qingdao"]
    login(manager)
    assert "Zhao Min" in client.get("/verifications").text
    review = client.get(f"/verifications/{application.id}").text
    assert "赵敏" in review and "ending in 002X" in review
    response = client.post(f"/verifications/{application.id}/approve", data={"reason": ""})
    assert response.status_code == 302

    db.session.refresh(applicant)
    assert applicant.real_name_verified
    assert latest(applicant).decided_by_id == manager.id
    assert moves(application) == [
        ("applied", None, "pending", applicant.id, None),
        ("status", "pending", "approved", manager.id, None),
    ]
    login(applicant)
    assert "Verified since" in client.get("/account/real-name").text


def test_the_resident_id_number_is_kept_nowhere_but_as_its_last_four(
    client, login, people, applicant, caplog
):
    login(applicant)
    with caplog.at_level(logging.DEBUG):
        refused = apply_as_person(client, people.centers["qingdao"], legal_name="")
        # the refused form shows what was typed in that same response, and nothing after it
        assert refused.status_code == 400 and TYPED in refused.text
        assert TYPED not in client.get("/account/real-name").text
        assert apply_as_person(client, people.centers["qingdao"]).status_code == 302
        pages = [client.get("/account/real-name").text]
        login(people.managers["qingdao"])
        application = latest(applicant)
        pages.append(client.get(f"/verifications/{application.id}").text)
        client.post(f"/verifications/{application.id}/approve", data={"reason": "Card seen."})
        pages.append(client.get(f"/verifications/{application.id}").text)

    assert all("002X" in page for page in pages)
    stored = " ".join(
        repr(tuple(row))
        for table in db.metadata.sorted_tables
        for row in db.session.execute(sa.select(table))
    )
    for text in [*pages, stored, caplog.text]:
        # neither the number nor its telling part (the place and the birth date)
        assert NUMBER[:14] not in text
    assert application.id_number_hash not in " ".join(pages)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("110105194912310021", "This number's last character does not match"),
        ("370202199002301236", "The birth date in this number"),
        ("11010519491231002", "A resident ID number has 18 characters."),
    ],
)
def test_a_bad_number_is_refused_at_its_field_and_nothing_is_stored(
    client, login, people, applicant, number, message
):
    login(applicant)
    before = stored_counts()
    response = apply_as_person(client, people.centers["qingdao"], number=number)
    assert response.status_code == 400
    (error,) = form_errors(response)["id_number"]
    assert error.startswith(message)
    assert stored_counts() == before


def test_a_number_another_account_gave_is_refused(client, login, people, applicant, make_user):
    login(applicant)
    apply_as_person(client, people.centers["qingdao"])
    other = make_user(name="Impostor", real_name_verified=False)
    login(other)
    response = apply_as_person(client, people.centers["zibo"], number=NUMBER.lower())
    assert response.status_code == 409
    assert form_errors(response)["id_number"] == [
        "This resident ID number is verified or waiting for review for another account."
    ]
    assert latest(other) is None


# --- an organization ------------------------------------------------------------------------------


def test_an_owner_applies_with_the_licence_and_a_manager_of_a_center_above_approves(
    client, login, people, optics, uploads
):
    owner, organization = optics
    login(owner)
    response = apply_for(client, organization)
    assert response.status_code == 302
    application = latest(organization)
    assert application.status == VerificationStatus.PENDING
    assert (application.credit_code, application.licence_name) == (
        organization.credit_code,
        "营业执照.pdf",
    )
    assert stored_files(uploads) == [application.licence_stored_name]
    assert "Laoshan Optics" not in application.licence_stored_name

    manager = people.managers["qingdao"]
    login(manager)
    queue = client.get("/verifications").text
    assert "Laoshan Optics" in queue and f"/verifications/{application.id}/licence" in queue
    licence = client.get(f"/verifications/{application.id}/licence")
    assert licence.status_code == 200 and licence.data == PDF
    assert client.post(f"/verifications/{application.id}/approve").status_code == 302

    db.session.refresh(organization)
    assert organization.real_name_verified
    page = client.get(f"/orgs/{organization.id}").text
    assert 'data-testid="verified-badge"' in page


def test_the_queue_holds_the_centers_pending_requests_oldest_first(
    client, login, people, optics, applicant, clock
):
    owner, organization = optics
    login(applicant)
    apply_as_person(client, people.centers["zibo"])
    clock.advance(minutes=5)
    login(owner)
    apply_for(client, organization)
    shandong = verification.queue(people.managers["shandong"])
    assert [a.subject_name for a in shandong] == ["Zhao Min", "Laoshan Optics"]
    assert [a.subject_name for a in verification.queue(people.admin)] == [
        "Zhao Min",
        "Laoshan Optics",
    ]
    assert [a.subject_name for a in verification.queue(people.managers["qingdao"])] == [
        "Laoshan Optics"
    ]
    assert [a.subject_name for a in verification.queue(people.managers["zibo"])] == ["Zhao Min"]


def test_a_manager_of_another_center_neither_sees_nor_decides(
    client, login, people, optics, make_user, add_member, uploads
):
    owner, organization = optics
    login(owner)
    apply_for(client, organization)
    application = latest(organization)
    member, outsider = make_user(name="A member"), people.outsider
    add_member(member, organization)

    login(people.managers["zibo"])
    assert client.get("/verifications").status_code == 200
    assert "Laoshan Optics" not in client.get("/verifications").text
    before = stored_counts()
    assert client.get(f"/verifications/{application.id}").status_code == 404
    for decision in ("approve", "refuse", "revoke"):
        response = client.post(f"/verifications/{application.id}/{decision}", data={"reason": "x"})
        assert response.status_code == 404
    assert client.get(f"/verifications/{application.id}/licence").status_code == 404
    login(outsider)
    assert client.get("/verifications").status_code == 403
    assert client.get(f"/verifications/{application.id}").status_code == 404
    assert client.get(f"/verifications/{application.id}/licence").status_code == 404
    assert client.get(f"/orgs/{organization.id}/verification").status_code == 403
    assert stored_counts() == before
    assert latest(organization).status == VerificationStatus.PENDING

    login(member)  # the organization's members see their licence
    assert client.get(f"/verifications/{application.id}/licence").data == PDF
    assert client.post(f"/orgs/{organization.id}/verification").status_code == 403
    login(people.admin)
    assert client.get(f"/verifications/{application.id}/licence").data == PDF


def test_applying_and_deciding_need_the_form_token(client, login, people, optics, uploads):
    owner, organization = optics
    login(owner)
    response = client.post(
        f"/orgs/{organization.id}/verification",
        data={"credit_code": organization.credit_code, "licence": pdf_file()},
        csrf=False,
    )
    assert response.status_code == 400 and latest(organization) is None
    assert stored_files(uploads) == []
    apply_for(client, organization)
    application = latest(organization)
    login(people.managers["qingdao"])
    response = client.post(f"/verifications/{application.id}/approve", csrf=False)
    assert response.status_code == 400
    assert latest(organization).status == VerificationStatus.PENDING


def test_nobody_reviews_their_own_organizations_request(client, login, people, optics, add_member):
    owner, organization = optics
    manager = people.managers["qingdao"]
    add_member(manager, organization)
    login(owner)
    apply_for(client, organization)
    application = latest(organization)
    login(manager)
    assert "Laoshan Optics" not in client.get("/verifications").text
    assert client.post(f"/verifications/{application.id}/approve").status_code == 403
    assert latest(organization).status == VerificationStatus.PENDING


def test_a_refusal_needs_a_reason_which_the_applicant_reads_before_applying_again(
    client, login, people, optics, uploads
):
    owner, organization = optics
    login(owner)
    apply_for(client, organization)
    application = latest(organization)
    manager = people.managers["shandong"]
    login(manager)
    response = client.post(f"/verifications/{application.id}/refuse", data={"reason": "  "})
    assert response.status_code == 400
    assert form_errors(response)["reason"] == [
        "Give the reason for the refusal: the applicant reads it."
    ]
    assert latest(organization).status == VerificationStatus.PENDING
    reason = "The licence scan is unreadable: upload a sharper one."
    response = client.post(f"/verifications/{application.id}/refuse", data={"reason": reason})
    assert response.status_code == 302

    login(owner)
    page = client.get(f"/orgs/{organization.id}/verification").text
    assert "was refused" in page and reason in page
    assert 'data-testid="verification-form"' in page
    assert apply_for(client, organization, pdf_file("licence-sharp.pdf")).status_code == 302
    again = latest(organization)
    assert again.id != application.id and again.status == VerificationStatus.PENDING
    db.session.refresh(application)
    assert (application.status, application.decision_reason) == (VerificationStatus.REFUSED, reason)
    assert not organization.real_name_verified


def test_every_decision_is_in_the_audit_trail_with_who_made_it(
    client, login, people, optics, uploads
):
    owner, organization = optics
    login(owner)
    apply_for(client, organization)
    first = latest(organization)
    qingdao, shandong = people.managers["qingdao"], people.managers["shandong"]
    login(qingdao)
    client.post(f"/verifications/{first.id}/refuse", data={"reason": "Wrong licence."})
    login(owner)
    apply_for(client, organization)
    second = latest(organization)
    login(shandong)
    client.post(f"/verifications/{second.id}/approve", data={"reason": "Licence checked."})
    login(people.admin)
    client.post(f"/verifications/{second.id}/revoke", data={"reason": "The licence is forged."})

    assert moves(first) == [
        ("applied", None, "pending", owner.id, None),
        ("status", "pending", "refused", qingdao.id, "Wrong licence."),
    ]
    assert moves(second) == [
        ("applied", None, "pending", owner.id, None),
        ("status", "pending", "approved", shandong.id, "Licence checked."),
        ("status", "approved", "revoked", people.admin.id, "The licence is forged."),
    ]
    history = client.get(f"/verifications/{second.id}").text
    assert "The licence is forged." in history and "Manager of shandong" in history


def test_the_admin_revokes_with_a_reason_and_a_manager_may_not(
    client, login, people, optics, uploads
):
    owner, organization = optics
    login(owner)
    apply_for(client, organization)
    application = latest(organization)
    login(people.managers["qingdao"])
    client.post(f"/verifications/{application.id}/approve")
    assert 'data-testid="revoke-form"' not in client.get(f"/verifications/{application.id}").text
    response = client.post(f"/verifications/{application.id}/revoke", data={"reason": "Fraud."})
    assert response.status_code == 403
    login(people.admin)
    response = client.post(f"/verifications/{application.id}/revoke", data={"reason": ""})
    assert response.status_code == 400
    assert form_errors(response)["reason"] == [
        "Give the reason for the revocation: the applicant reads it."
    ]
    response = client.post(
        f"/verifications/{application.id}/revoke", data={"reason": "The company was dissolved."}
    )
    assert response.status_code == 302
    db.session.refresh(organization)
    assert not organization.real_name_verified
    login(owner)
    page = client.get(f"/orgs/{organization.id}/verification").text
    assert "was revoked" in page and "The company was dissolved." in page


def test_a_verified_or_waiting_organization_keeps_its_credit_code(
    client, login, people, optics, uploads
):
    owner, organization = optics
    login(owner)
    apply_for(client, organization)
    base = "91370212MA0000001"
    new_code = base + credit_code.check_character(base)
    with pytest.raises(DomainError, match="cannot be changed"), transaction():
        orgs.update_organization(
            owner,
            organization,
            "Laoshan Optics",
            "enterprise",
            None,
            new_code,
            organization.center_id,
            "",
        )
    db.session.refresh(organization)
    assert organization.credit_code != new_code


# --- the licence file ------------------------------------------------------------------------------

REFUSED_LICENCES = {
    "a Word file": ("licence.docx", b"PK\x03\x04 not a licence", "Upload the business licence"),
    "a PNG named .pdf": ("licence.pdf", PNG, "The file's content does not match its name"),
    "an empty file": ("licence.png", b"", "The file is empty."),
    "over 10 MB": ("licence.pdf", PDF + b"\0" * (10 * 1024 * 1024), "A file may be at most 10 MB."),
}


@pytest.mark.parametrize("case", REFUSED_LICENCES.values(), ids=REFUSED_LICENCES.keys())
def test_a_refused_licence_gets_its_message_and_leaves_no_file(
    client, login, optics, uploads, case
):
    name, content, message = case
    owner, organization = optics
    login(owner)
    before = stored_counts()
    response = apply_for(client, organization, (io.BytesIO(content), name))
    assert response.status_code == 400
    (error,) = form_errors(response)["licence"]
    assert error.startswith(message)
    assert stored_counts() == before
    assert stored_files(uploads) == []


def test_a_licence_stored_for_a_transaction_that_rolls_back_is_removed(optics, uploads):
    owner, organization = optics
    storage = FileStorage(io.BytesIO(PDF), "licence.pdf")
    with pytest.raises(RuntimeError, match="after the upload"), transaction():
        verification.apply_for_organization(owner, organization, organization.credit_code, storage)
        assert len(stored_files(uploads)) == 1  # written, for a row not committed yet
        raise RuntimeError("a step after the upload failed")
    assert stored_files(uploads) == []
    assert latest(organization) is None


def test_a_second_application_while_one_waits_stores_nothing(client, login, optics, uploads):
    owner, organization = optics
    login(owner)
    apply_for(client, organization)
    files, before = stored_files(uploads), stored_counts()
    storage = FileStorage(io.BytesIO(PDF), "licence.pdf")
    with pytest.raises(AlreadyDone, match="waiting for review already"), transaction():
        verification.apply_for_organization(owner, organization, organization.credit_code, storage)
    assert stored_files(uploads) == files and len(files) == 1
    assert stored_counts() == before


# --- the badge -------------------------------------------------------------------------------------


def test_the_badge_shows_on_profiles_and_organization_pages_of_the_verified_only(
    client, people, applicant, optics
):
    _owner, unverified = optics
    verified_profile = client.get(f"/users/{people.solver.id}").text
    unverified_profile = client.get(f"/users/{applicant.id}").text
    assert 'data-testid="verified-badge"' in verified_profile
    assert "Verified" in verified_profile  # a word, not only a colour
    assert 'data-testid="verified-badge"' not in unverified_profile
    assert 'data-testid="verified-badge"' in client.get(f"/orgs/{people.enterprise.id}").text
    org_page = client.get(f"/orgs/{unverified.id}").text
    assert "Laoshan Optics" in org_page and "Not verified yet." in org_page
    assert '<h1 class="h3">Laoshan Optics</h1>' in org_page
