"""Portfolios and certifications on public profiles: only their owners change them, files are
checked like contract files and served publicly without reaching a contract's files, and a
completed contract shows with an item only while both of its sides agree."""

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from crowdsource.accounts.models import Role
from crowdsource.contracts import messages, ratings
from crowdsource.contracts.models import ContractFile, ContractStatus
from crowdsource.db import db, transaction
from crowdsource.errors import DomainError, NotAllowed
from crowdsource.notifications.models import Kind, Notification
from crowdsource.profiles import services
from crowdsource.profiles.models import Certification, PortfolioFile, PortfolioItem
from tests.helpers import PNG, add_member, form_errors, pdf_file, png_file, stored_counts
from tests.payments.support import accept, deliver, fund, page, parse, reload, texts

pytestmark = pytest.mark.usefixtures("shared_people")


@pytest.fixture
def completed(people, award):
    """A completed contract of the individual solver with the Laoshan enterprise."""
    contract = award((500_000,), title="Vision inspection of weld seams")
    (milestone,) = contract.milestones
    fund(milestone, people.owner, people.managers["qingdao"])
    deliver(people.solver, milestone)
    accept(people.owner, milestone)
    contract = reload(contract)
    assert contract.status == ContractStatus.COMPLETED
    return contract


def add_item(user, owner, title="Weld seam inspection", files=()):
    uploaded = [FileStorage(stream, filename=name) for stream, name in files]
    with transaction():
        return services.add_item(user, owner, title, "A camera line at **Haian**.", uploaded)


def public(app, url):
    """The page as a visitor who is not logged in sees it, in English."""
    return app.test_client().get(url, headers={"Accept-Language": "en"})


def test_the_owner_adds_an_item_with_an_image_that_the_profile_previews(
    app, client, login, people, uploads
):
    login(people.solver)
    response = client.post(
        f"/portfolio/user/{people.solver.id}/items",
        data={"title": "Weld seam inspection", "description": "Camera line", "files": [png_file()]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    (item,) = services.items_of(people.solver)
    (image,) = item.files
    assert image.is_image and image.content_type == "image/png"

    profile = public(app, f"/users/{people.solver.id}")
    assert texts(profile, "portfolio-item")[0].startswith("Weld seam inspection")
    (img,) = parse(profile).find_all("img", testid="portfolio-image")
    assert img.attrs["src"] == f"/portfolio/files/{image.id}"
    served = public(app, img.attrs["src"])
    assert served.status_code == 200 and served.data == PNG
    assert served.mimetype == "image/png"
    assert "attachment" not in served.headers.get("Content-Disposition", "")


def test_a_refused_file_comes_back_at_its_field_as_typed(client, login, people, uploads):
    login(people.solver)
    before = stored_counts()
    response = client.post(
        f"/portfolio/user/{people.solver.id}/items",
        data={"title": "Weld seam inspection", "files": [(pdf_file()[0], "tool.exe")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert list(form_errors(response)) == ["files"]
    (form,) = parse(response).find_all("form", testid="add-item")
    (title,) = [i for i in form.find_all("input") if i.attrs.get("name") == "title"]
    assert title.attrs["value"] == "Weld seam inspection"
    assert stored_counts() == before

    response = client.post(f"/portfolio/user/{people.solver.id}/items", data={"title": "  "})
    assert response.status_code == 400
    assert form_errors(response) == {"title": ["This field is required."]}


def test_nobody_else_edits_reorders_or_deletes_an_item(client, login, people, uploads):
    item = add_item(people.solver, people.solver, files=[png_file()])
    (image,) = item.files
    second = add_item(people.solver, people.solver, title="Second")
    for other in (people.outsider, people.owner, people.admin):
        login(other)
        assert client.get(f"/portfolio/user/{people.solver.id}").status_code == 404
        assert client.get(f"/portfolio/items/{item.id}").status_code == 404
        assert client.post(f"/portfolio/items/{item.id}", data={"title": "Mine"}).status_code == 404
        assert client.post(f"/portfolio/items/{second.id}/move/up").status_code == 404
        assert client.post(f"/portfolio/items/{item.id}/delete").status_code == 404
        assert client.post(f"/portfolio/files/{image.id}/delete").status_code == 404
        response = client.post(
            f"/portfolio/user/{people.solver.id}/items", data={"title": "Planted"}
        )
        assert response.status_code == 404
    assert [i.title for i in services.items_of(people.solver)] == ["Weld seam inspection", "Second"]
    with pytest.raises(NotAllowed), transaction():
        services.delete_item(people.outsider, item)


def test_the_owner_reorders_and_deletes_items(client, login, people, uploads):
    first = add_item(people.solver, people.solver, title="First", files=[png_file()])
    add_item(people.solver, people.solver, title="Second")
    login(people.solver)
    assert client.post(f"/portfolio/items/{first.id}/move/down").status_code == 302
    assert [i.title for i in services.items_of(people.solver)] == ["Second", "First"]
    assert client.post(f"/portfolio/items/{first.id}/delete").status_code == 302
    assert [i.title for i in services.items_of(people.solver)] == ["Second"]
    assert db.session.scalars(sa.select(PortfolioFile)).all() == []


def test_an_agencys_portfolio_is_its_owners_to_change(client, login, people, make_user):
    member = make_user(name="Junior broker")
    add_member(member, people.agency, Role.MEMBER)
    login(member)
    url = f"/portfolio/org/{people.agency.id}/items"
    assert client.post(url, data={"title": "Tech transfer"}).status_code == 404
    login(people.broker)  # the agency's owner
    assert client.post(url, data={"title": "Tech transfer"}).status_code == 302
    profile = client.get(f"/orgs/{people.agency.id}")
    assert texts(profile, "portfolio-item") == ["Tech transfer"]


def test_the_contract_link_shows_only_while_both_sides_agree(app, client, login, people, completed):
    item = add_item(people.solver, people.solver)
    login(people.solver)
    response = client.post(
        f"/portfolio/items/{item.id}/propose", data={"contract_id": str(completed.id)}
    )
    assert response.status_code == 302
    profile_url = f"/users/{people.solver.id}"
    assert texts(public(app, profile_url), "portfolio-contract") == []  # not yet agreed
    (told,) = db.session.scalars(
        sa.select(Notification).filter_by(kind=Kind.PORTFOLIO_PROPOSED)
    ).all()
    assert told.user_id == people.owner.id

    # nobody but the enterprise side consents
    for other in (people.solver, people.outsider, people.zibo_owner):
        login(other)
        assert client.post(f"/portfolio/items/{item.id}/consent").status_code == 403
    login(people.owner)
    assert client.get(told.link).status_code == 200
    assert client.post(f"/portfolio/items/{item.id}/consent").status_code == 302
    (shown,) = texts(public(app, profile_url), "portfolio-contract")
    assert completed.number in shown and "Vision inspection of weld seams" in shown
    assert "development" in shown.lower()

    # the enterprise withdraws: the link disappears
    assert client.post(f"/portfolio/items/{item.id}/withdraw").status_code == 302
    assert texts(public(app, profile_url), "portfolio-contract") == []
    assert reload(item).contract_id is None

    # proposed again and agreed, then the solver withdraws
    with transaction():
        services.propose_contract(people.solver, reload(item), completed.id)
    with transaction():
        services.consent_contract(people.owner, reload(item))
    assert len(texts(public(app, profile_url), "portfolio-contract")) == 1
    login(people.solver)
    assert client.post(f"/portfolio/items/{item.id}/withdraw").status_code == 302
    assert texts(public(app, profile_url), "portfolio-contract") == []
    login(people.outsider)
    assert client.post(f"/portfolio/items/{item.id}/withdraw").status_code == 403


def test_only_a_completed_contract_of_ones_own_side_can_be_proposed(
    client, login, people, award, completed
):
    item = add_item(people.solver, people.solver)
    active = award((100_000,))
    agencys = award((100_000,), brokerage_bps=1000)
    login(people.solver)
    before = stored_counts()
    for contract in (active, agencys):
        response = client.post(
            f"/portfolio/items/{item.id}/propose", data={"contract_id": str(contract.id)}
        )
        assert response.status_code == 400
        assert list(form_errors(response)) == ["contract_id"]
    with pytest.raises(DomainError, match="completed contract your side"), transaction():
        services.propose_contract(people.solver, item, active.id)
    with pytest.raises(NotAllowed), transaction():
        services.propose_contract(people.broker, item, completed.id)
    assert stored_counts() == before


def test_a_portfolio_never_exposes_the_contracts_own_files(
    app, client, login, people, completed, uploads
):
    design = pdf_file("secret-design.pdf")
    with transaction():
        messages.post_message(
            people.solver, completed, "The design", [FileStorage(design[0], filename=design[1])]
        )
    record = db.session.scalars(sa.select(ContractFile)).one()
    item = add_item(people.solver, people.solver)
    with transaction():
        services.propose_contract(people.solver, item, completed.id)
        services.consent_contract(people.owner, reload(item))
    profile = page(public(app, f"/users/{people.solver.id}"))
    assert "secret-design.pdf" not in profile and "/contract-files/" not in profile
    # the public file route serves portfolio files only: a contract file's id finds nothing
    assert public(app, f"/portfolio/files/{record.id}").status_code == 404


def test_certifications_with_a_bad_year_come_back_as_typed(client, login, people, uploads):
    login(people.solver)
    url = f"/portfolio/user/{people.solver.id}/certifications"
    response = client.post(url, data={"name": "PMP", "issuer": "PMI", "year": "3024"})
    assert response.status_code == 400
    assert list(form_errors(response)) == ["year"]
    (form,) = parse(response).find_all("form", testid="add-certification")
    typed = {i.attrs["name"]: i.attrs.get("value", "") for i in form.find_all("input")}
    assert typed["name"] == "PMP" and typed["year"] == "3024"
    assert db.session.scalars(sa.select(Certification)).all() == []

    response = client.post(
        url,
        data={"name": "PMP", "issuer": "PMI", "year": "2021", "files": [pdf_file("pmp.pdf")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    (certification,) = services.certifications_of(people.solver)
    profile = client.get(f"/users/{people.solver.id}")
    assert texts(profile, "certification") == ["PMP · PMI · 2021 · certificate"]
    download = client.get(f"/certifications/{certification.id}/file")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    login(people.outsider)
    assert client.post(f"/certifications/{certification.id}/delete").status_code == 404
    assert services.certifications_of(people.solver) == [certification]


def test_visible_rating_comments_show_with_the_raters_organization(app, people, completed):
    with transaction():
        ratings.rate(people.owner, completed, 5, "Delivered the camera line early.")
    profile_url = f"/users/{people.solver.id}"
    assert texts(public(app, profile_url), "profile-rating") == []  # hidden until both rated
    with transaction():
        ratings.rate(people.solver, reload(completed), 4, "Clear requirements.")
    (shown,) = texts(public(app, profile_url), "profile-rating")
    assert "5 of 5" in shown and "Haian Robotics" in shown
    assert "Delivered the camera line early." in shown


def test_portfolio_items_need_their_owner(people):
    with pytest.raises(NotAllowed), transaction():
        services.add_item(people.outsider, people.solver, "Planted")
    assert db.session.scalars(sa.select(PortfolioItem)).all() == []
