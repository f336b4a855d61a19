"""Centers: the province → city → county tree, managers of subtrees, and the admin's page."""

import pytest
import sqlalchemy as sa

from crowdsource.accounts import authz
from crowdsource.accounts import centers as center_services
from crowdsource.accounts.models import CenterManager
from crowdsource.db import transaction
from crowdsource.errors import Conflict, DomainError


def test_a_manager_manages_the_whole_subtree_and_nothing_else(db, make_user, centers):
    manager = make_user()
    with transaction():
        center_services.make_manager(manager, centers["qingdao"])
    assert authz.manages_center(manager, centers["qingdao"])
    assert authz.manages_center(manager, centers["laoshan"])
    assert not authz.manages_center(manager, centers["zibo"])
    assert not authz.manages_center(manager, centers["shandong"])


def test_a_province_manager_manages_every_city_and_county(db, make_user, centers):
    manager = make_user()
    with transaction():
        center_services.make_manager(manager, centers["shandong"])
    assert all(authz.manages_center(manager, center) for center in centers.values())


def test_admin_manages_everything_and_ordinary_users_nothing(db, make_user, centers):
    admin, someone = make_user(is_admin=True), make_user()
    assert all(authz.manages_center(admin, center) for center in centers.values())
    assert not any(authz.manages_center(someone, center) for center in centers.values())


def test_manages_center_of_an_object_uses_its_center(db, make_user, make_org, centers):
    manager = make_user()
    with transaction():
        center_services.make_manager(manager, centers["qingdao"])
    laoshan_company = make_org(make_user(), name="Laoshan Co", center=centers["laoshan"])
    zibo_company = make_org(make_user(), name="Zibo Co", center=centers["zibo"])
    assert authz.manages_center_of(manager, laoshan_company)
    assert not authz.manages_center_of(manager, zibo_company)


def test_levels_must_fit_the_tree(db, centers):
    with pytest.raises(DomainError):
        center_services.add_center("x1", "某县", "Some County", "county", centers["shandong"])
    with pytest.raises(DomainError):
        center_services.add_center("x2", "某市", "Some City", "city", None)
    with pytest.raises(DomainError):
        center_services.add_center("x3", "某省", "Some Province", "province", centers["shandong"])
    with pytest.raises(Conflict):
        center_services.add_center("qingdao", "青岛", "Qingdao", "city", centers["shandong"])


def test_subtree_query_lists_the_center_and_its_descendants(db, centers):
    ids = set(db.session.scalars(center_services.subtree_query(centers["qingdao"])))
    assert ids == {centers["qingdao"].id, centers["laoshan"].id}


def test_center_tree_page_is_public_and_lists_every_center(client, centers):
    page = client.get("/centers").get_data(as_text=True)
    for name in ("Shandong", "Qingdao", "Zibo", "Laoshan District"):
        assert name in page
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    page = client.get("/centers").get_data(as_text=True)
    assert "青岛市" in page and "崂山区" in page


def test_only_the_admin_adds_managers_on_the_center_page(client, db, make_user, login, centers):
    admin, manager, intruder = make_user(is_admin=True), make_user(), make_user()
    url = f"/centers/{centers['qingdao'].id}"
    login(intruder)
    assert client.post(url, data={"email": intruder.email}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(CenterManager.id))) == 0
    login(admin)
    assert client.post(url, data={"email": manager.email}).status_code == 302
    assert authz.manages_center(manager, centers["laoshan"])
    login(manager)
    assert "you manage this center" in client.get(url).get_data(as_text=True)
    assert "Centers I manage" in client.get("/").get_data(as_text=True)


def test_unknown_center_is_404(client):
    assert client.get("/centers/12345").status_code == 404
