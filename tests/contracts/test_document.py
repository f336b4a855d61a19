"""The printable contract: a PDF in the reader's language (or the one asked for) with the number,
the parties, the terms, the milestones and the fee split, readable by those who may see the
contract; Chinese renders with an embedded TrueType font or the built-in STSong-Light."""

import datetime as dt
import io
import pathlib
from types import SimpleNamespace

import pypdf
import pytest

from crowdsource.accounts import centers as center_services
from crowdsource.bids import offers
from crowdsource.contracts import document
from crowdsource.db import transaction, utcnow
from crowdsource.payments import policy
from crowdsource.tasks import services as task_services
from tests.helpers import unavailable

DEJAVU = pathlib.Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.fixture
def chinese(make_user, make_org, make_task, make_bid, centers):
    """A technology-development contract between a Qingdao enterprise and a Jinan agency
    brokering (10 %) for a university, under 5 % commission, a 1 % client-side fee and a 1 %
    center share: milestones of ¥12,345 and ¥7,655."""
    admin = make_user(name="平台管理员", email="admin@platform.example", is_admin=True)
    with transaction():
        policy.set_policy(admin, None, None, 500, 100, 100, 3000)
    owner = make_user(name="李伟", email="li.wei@hailan.example", locale="zh_CN")
    enterprise = make_org(owner, name="青岛海澜智能装备有限公司", center=centers["laoshan"])
    broker = make_user(name="孙梅", email="sun.mei@qilu.example", locale="en")
    agency = make_org(broker, name="山东齐鲁技术转移服务中心", kind="agency", ownership="private")
    professor = make_user(name="钱教授", email="qian@qust.example")
    university = make_org(
        professor, name="青岛科技大学", kind="institution", ownership="university"
    )
    manager = make_user(name="王海涛", email="wang@qingdao.example")
    with transaction():
        center_services.make_manager(manager, centers["qingdao"])
    task = make_task(owner, enterprise, title="PCB焊点机器视觉检测")
    due = (utcnow() + dt.timedelta(days=30)).date()
    bid = make_bid(
        broker,
        task,
        price_fen=2_000_000,
        milestones=[("样机交付", 1_234_500, due), ("产线试运行", 765_500, due)],
        agency=agency,
        payee_organization=university,
        brokerage_bps=1000,
    )
    with transaction():
        task_services.close_bidding(owner, task)
        contract = offers.sign_both(owner, bid)
    return SimpleNamespace(
        contract=contract,
        owner=owner,
        broker=broker,
        professor=professor,
        manager=manager,
        outsider=make_user(name="Nosy Parker", email="nosy@example.com"),
    )


def pdf_text(response):
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    return "\n".join(page.extract_text() for page in reader.pages)


def fonts_of(response):
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def url(contract, lang=None):
    return f"/contracts/{contract.id}/document.pdf" + (f"?lang={lang}" if lang else "")


def test_a_party_downloads_the_contract_in_chinese_with_parties_terms_milestones_and_fees(
    client, db, login, chinese
):
    login(chinese.owner)  # prefers Chinese
    response = client.get(url(chinese.contract))
    assert chinese.contract.number in response.headers["Content-Disposition"]
    text = pdf_text(response)
    assert f"合同 {chinese.contract.number}" in text
    for party in ("青岛海澜智能装备有限公司", "山东齐鲁技术转移服务中心", "青岛科技大学", "孙梅"):
        assert party in text
    for words in ("企业", "收款方", "知识产权", "技术开发", "PCB焊点机器视觉检测"):
        assert words in text
    for milestone in ("样机交付", "产线试运行"):
        assert milestone in text
    for amount in ("¥20,000.00", "¥12,345.00", "¥7,655.00"):
        assert amount in text
    # the fee split by the contract's snapshot: commission, brokerage, center share, payee,
    # the client-side fee and what the enterprise pays in all
    for amount in ("¥1,000.00", "¥2,000.00", "¥200.00", "¥16,800.00", "¥20,200.00"):
        assert amount in text
    assert "5%" in text and "10%" in text and "1%" in text


def test_english_is_the_readers_language_or_asked_for(client, db, login, chinese):
    login(chinese.broker)  # prefers English
    text = pdf_text(client.get(url(chinese.contract)))
    assert "Technology contract" in text and "Technology development" in text
    assert "Enterprise" in text and "Payee" in text and "青岛科技大学" in text
    assert "Agency brokerage (10%)" in text
    assert "收款方" not in text

    assert "收款方" in pdf_text(client.get(url(chinese.contract, "zh")))
    login(chinese.owner)
    english = pdf_text(client.get(url(chinese.contract, "en")))
    assert "Payee" in english and "¥16,800.00" in english
    unknown = client.get(url(chinese.contract, "fr"))
    assert unknown.status_code == 400
    assert "网址中的 lang “fr”不是以下任何一项：zh, zh_CN, en" in unknown.get_data(as_text=True)


def test_those_who_may_see_the_contract_may_download_it_and_nobody_else(client, db, login, chinese):
    for reader in (chinese.owner, chinese.broker, chinese.professor, chinese.manager):
        login(reader)
        assert client.get(url(chinese.contract)).status_code == 200, reader.email
    login(chinese.outsider)
    assert client.get(url(chinese.contract)).status_code == 404
    assert client.get("/contracts/999999/document.pdf").status_code == 404
    client.post("/logout")
    assert client.get(url(chinese.contract)).status_code == 302  # to the login page


def test_the_contract_page_links_the_document(client, db, login, chinese):
    login(chinese.owner)
    page = client.get(f"/contracts/{chinese.contract.id}").get_data(as_text=True)
    assert f'href="/contracts/{chinese.contract.id}/document.pdf"' in page


def test_without_a_truetype_font_chinese_is_set_in_the_builtin_cid_font(
    app, client, db, login, chinese, monkeypatch, tmp_path
):
    not_a_font = tmp_path / "font.ttf"
    not_a_font.write_text("not a font")
    monkeypatch.setitem(app.config, "CONTRACT_PDF_FONT", str(not_a_font))
    login(chinese.owner)
    response = client.get(url(chinese.contract, "zh"))
    assert any("STSong-Light" in name for name in fonts_of(response))
    assert "青岛海澜智能装备有限公司" in pdf_text(response)


@pytest.mark.skipif(not DEJAVU.exists(), reason="DejaVu Sans is not installed")
def test_a_configured_truetype_font_is_embedded(app, client, db, login, chinese, monkeypatch):
    monkeypatch.setitem(app.config, "CONTRACT_PDF_FONT", str(DEJAVU))
    login(chinese.broker)
    response = client.get(url(chinese.contract, "en"))
    assert any(name.endswith("DejaVuSans") for name in fonts_of(response))
    assert "Technology contract" in pdf_text(response)


def test_the_system_font_search_keeps_truetype_files_first(monkeypatch):
    listed = (
        "/fonts/b/NotoSansCJK-Regular.ttc: \n/fonts/a/wqy-microhei.ttc: \n/fonts/c/simsun.ttf:\n"
    )

    def fake_run(*args, **kwargs):
        return SimpleNamespace(stdout=listed)

    monkeypatch.setattr(document.subprocess, "run", fake_run)
    assert document._system_cjk_fonts() == [
        "/fonts/c/simsun.ttf",
        "/fonts/a/wqy-microhei.ttc",
        "/fonts/b/NotoSansCJK-Regular.ttc",
    ]


def embedded_fonts(response):
    """The base names of the fonts whose glyphs the PDF carries (a FontFile, FontFile2 or
    FontFile3 in their descriptor, directly or in a descendant CID font), and of those it only
    names."""
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    embedded, named = set(), set()
    for pdf_page in reader.pages:
        for font in pdf_page["/Resources"]["/Font"].values():
            font = font.get_object()
            parts = [font] + [d.get_object() for d in font.get("/DescendantFonts", [])]
            descriptors = [
                p["/FontDescriptor"].get_object() for p in parts if "/FontDescriptor" in p
            ]
            has_file = any(
                key in d for d in descriptors for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
            (embedded if has_file else named).add(str(font["/BaseFont"]))
    return embedded, named


def test_by_default_the_chinese_document_embeds_a_truetype_cjk_font_of_the_system(
    app, client, db, login, chinese, monkeypatch
):
    """What a fresh viewer needs: the CJK font CI installs (fonts-wqy-microhei, a TrueType
    collection) found through fontconfig and embedded, and no font merely named."""
    monkeypatch.setitem(app.config, "CONTRACT_PDF_FONT", "")
    if not any(document._register_truetype(path) for path in document._system_cjk_fonts()):
        unavailable("no TrueType CJK font is installed (apt-get install fonts-wqy-microhei)")
    login(chinese.owner)
    response = client.get(url(chinese.contract, "zh"))
    embedded, named = embedded_fonts(response)
    assert embedded and named == set(), (embedded, named)
    assert "青岛海澜智能装备有限公司" in pdf_text(response)
