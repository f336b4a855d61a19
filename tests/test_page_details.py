"""Small things people notice on the pages: times to the minute, the history of a contract in
the reader's language, the long description labelled, the cancel form folded, and pictures
and PDFs of a contract shown in the browser."""

import datetime as dt
import itertools
import re

import pytest

from crowdsource.accounts.models import Language
from crowdsource.db import db, transaction
from crowdsource.disputes import services as disputes
from tests.helpers import form_errors, pdf_file, png_file
from tests.payments.support import accept, deliver, fund, parse

#: the people of the money tests, built once for this module (tests.plugin)
pytestmark = pytest.mark.usefixtures("shared_people")

#: a deadline with seconds: 12:34:56 in Shanghai
DEADLINE = dt.datetime(2031, 5, 6, 4, 34, 56, tzinfo=dt.UTC)


def one(response, testid):
    (element,) = parse(response).find_all(testid=testid)
    return element


def speaks(user, language):
    with transaction():
        db.session.merge(user).locale = language


@pytest.mark.parametrize(
    ("language", "shown"),
    [(Language.EN, "May 6, 2031, 12:34 PM"), (Language.ZH_CN, "2031年5月6日 12:34")],
)
def test_a_deadline_is_shown_to_the_minute(
    client, login, people, make_task, clock, language, shown
):
    clock.move_to(DEADLINE - dt.timedelta(days=20))
    task = make_task(people.owner, people.enterprise, bid_deadline=DEADLINE)
    speaks(people.solver, language)
    login(people.solver)
    response = client.get(f"/tasks/{task.id}")
    assert one(response, "deadline").text == shown.replace("\u202f", " ")
    assert "12:34:56" not in response.get_data(as_text=True)


def test_the_long_description_has_a_heading_of_its_own(client, login, people, make_task):
    task = make_task(people.owner, people.enterprise, description="# Scope\n\nThe SMT line.")
    login(people.owner)
    (section,) = [
        s
        for s in parse(client.get(f"/tasks/{task.id}")).find_all("section")
        if s.find_all(testid="description")
    ]
    (heading,) = section.find_all("h2")
    assert heading.text == "Full description"
    assert section.attrs["aria-labelledby"] == heading.attrs["id"]


def test_the_cancel_form_is_folded_until_a_refusal_opens_it(client, login, people, make_task):
    task = make_task(people.owner, people.enterprise)
    login(people.owner)
    folded = one(client.get(f"/tasks/{task.id}"), "cancel-task")
    assert folded.tag == "details" and "open" not in folded.attrs
    response = client.post(f"/tasks/{task.id}/cancel", data={"reason": " "})
    assert response.status_code == 400
    assert "open" in one(response, "cancel-task").attrs


def history(client, contract):
    return [
        li.text for li in one(client.get(f"/contracts/{contract.id}"), "history").find_all("li")
    ]


def test_the_history_of_a_contract_reads_in_chinese_on_a_chinese_page(client, login, people, award):
    contract = award([300_000])
    (milestone,) = contract.milestones
    fund(milestone, people.owner, people.managers["qingdao"])
    deliver(people.solver, milestone)
    accept(people.owner, milestone)
    speaks(people.owner, Language.ZH_CN)
    login(people.owner)
    lines = history(client, contract)
    assert any("验收通过" in line for line in lines), lines
    assert any("银行转账 ICBC-0001" in line for line in lines), lines
    # people's names and bank references stay as written; no English sentence remains
    assert not [line for line in lines if re.search(r"accepted|funded|transfer|code", line)]


def test_a_reason_the_platform_wrote_in_one_language_reads_in_the_other(
    client, login, people, case, clock
):
    # A party who writes in Chinese ends the appeal window; the English reader reads English.
    with transaction():
        dispute = disputes.open_dispute(people.owner, case.milestone.id, "The report is missing.")
    speaks(people.owner, Language.ZH_CN)
    clock.advance(days=30)
    disputes.sweep_due(clock.now())  # no response: the case goes to review
    login(people.broker)
    lines = [line for line in history(client, case.contract) if "Dispute:" in line]
    assert any("no response within the response period" in line for line in lines), lines
    speaks(people.broker, Language.ZH_CN)
    login(people.broker)
    lines = history(client, case.contract)
    assert not any("no response" in line for line in lines), lines
    assert dispute.id


def test_images_are_shown_and_pdfs_open_in_the_browser(client, login, people, award, uploads):
    contract = award()
    fund(contract.milestones[0], people.owner, people.managers["qingdao"])
    login(people.solver)
    response = client.post(
        f"/milestones/{contract.milestones[0].id}/deliver",
        data={"note": "Photos and the report.", "files": [png_file(), pdf_file()]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    login(people.owner)
    page = client.get(f"/contracts/{contract.id}")
    (image,) = parse(page).find_all("img", testid="file-image")
    assert image.attrs["alt"] == "photo.png"
    shown = client.get(image.attrs["src"])
    assert shown.status_code == 200 and shown.mimetype == "image/png"
    assert shown.headers["Content-Disposition"].startswith("inline")
    (pdf,) = parse(page).find_all("a", testid="file-pdf")
    opened = client.get(pdf.attrs["href"])
    assert opened.mimetype == "application/pdf"
    assert opened.headers["Content-Disposition"].startswith("inline")
    assert "frame-ancestors 'none'" in opened.headers["Content-Security-Policy"]
    # the preview is the contract's, like the download: nobody else sees it
    login(people.outsider)
    assert client.get(image.attrs["src"]).status_code == 404


def test_refused_evidence_keeps_what_was_written_on_the_dispute_pages(
    client, login, people, case, uploads
):
    login(people.owner)
    reason = "The delivered report covers only half of the samples."
    response = client.post(
        f"/milestones/{case.milestone.id}/dispute",
        data={"reason": reason, "files": [(pdf_file()[0], "evidence.exe")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    (area,) = parse(response).find_all("textarea")
    assert area.text == reason
    assert "evidence.exe" in form_errors(response)["files"][0]
    with transaction():
        dispute = disputes.open_dispute(people.owner, case.milestone.id, reason)
    login(people.broker)
    body = "All samples are in the appendix."
    response = client.post(
        f"/disputes/{dispute.id}/respond",
        data={"body": body, "files": [(png_file()[0], "appendix.bat")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert [a.text for a in parse(response).find_all("textarea") if a.attrs["name"] == "body"] == [
        body
    ]
    assert "appendix.bat" in form_errors(response)["files"][0]


def test_the_headings_of_the_statistics_page_go_down_one_level_at_a_time(client):
    html = client.get("/statistics").get_data(as_text=True)
    levels = [int(level) for level in re.findall(r"<h([1-6])\b", html)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(after <= before + 1 for before, after in itertools.pairwise(levels)), levels
