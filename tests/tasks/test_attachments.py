"""Attachments: stored outside static under a generated name, downloaded under their own name,
checked for type, content and size; only the enterprise uploads and removes them."""

import io
import os
import zipfile

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from crowdsource.db import transaction
from crowdsource.tasks import attachments
from crowdsource.tasks.models import TaskAttachment
from tests.helpers import form_errors, table_counts

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def zip_bytes(names):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


@pytest.fixture
def posted(make_user, make_org, make_task):
    owner = make_user()
    enterprise = make_org(owner)
    return owner, make_task(owner, enterprise)


def upload(client, task, content, name):
    return client.post(f"/tasks/{task.id}/attachments", data={"file": (io.BytesIO(content), name)})


def test_a_pdf_is_stored_under_a_generated_name_and_downloaded_under_its_own(
    app, client, db, login, posted, uploads
):
    owner, task = posted
    login(owner)
    response = upload(client, task, PDF, "Spec sheet v2.pdf")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/tasks/{task.id}#attachments"

    attachment = db.session.scalar(sa.select(TaskAttachment))
    assert attachment.original_name == "Spec sheet v2.pdf"
    assert attachment.size == len(PDF) and attachment.content_type == "application/pdf"
    assert "Spec" not in attachment.stored_name and attachment.stored_name.endswith(".pdf")
    assert os.listdir(uploads) == [attachment.stored_name]
    assert (uploads / attachment.stored_name).read_bytes() == PDF
    static = os.path.realpath(app.static_folder)
    assert not os.path.realpath(uploads).startswith(static)
    assert client.get(f"/static/{attachment.stored_name}").status_code == 404

    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f'href="/attachments/{attachment.id}"' in page and "Spec sheet v2.pdf" in page
    client.post("/logout")
    response = client.get(f"/attachments/{attachment.id}")
    assert response.status_code == 200
    assert response.data == PDF
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="Spec sheet v2.pdf"' in disposition


def test_a_chinese_file_name_is_kept_for_the_download(client, db, login, posted, uploads):
    owner, task = posted
    login(owner)
    assert upload(client, task, PDF, "技术规格书.pdf").status_code == 302
    attachment = db.session.scalar(sa.select(TaskAttachment))
    assert attachment.original_name == "技术规格书.pdf"
    disposition = client.get(f"/attachments/{attachment.id}").headers["Content-Disposition"]
    assert "filename*=UTF-8''%E6%8A%80%E6%9C%AF%E8%A7%84%E6%A0%BC%E4%B9%A6.pdf" in disposition


def test_an_office_document_with_the_right_content_is_accepted(client, db, login, posted, uploads):
    owner, task = posted
    login(owner)
    content = zip_bytes(["[Content_Types].xml", "word/document.xml"])
    assert upload(client, task, content, "Requirements.DOCX").status_code == 302
    attachment = db.session.scalar(sa.select(TaskAttachment))
    assert attachment.content_type.endswith("wordprocessingml.document")
    assert (uploads / attachment.stored_name).read_bytes() == content


NOT_ALLOWED = "Attach PDF, images (PNG, JPEG, GIF), office documents or ZIP files only."
REFUSED = {
    "exe": ("setup.exe", lambda: b"MZ\x90\x00" + b"\x00" * 64, NOT_ALLOWED),
    "no extension": ("drawing", lambda: PDF, NOT_ALLOWED),
    "png named pdf": (
        "drawing.pdf",
        lambda: PNG,
        "The file's content does not match its name (.pdf).",
    ),
    "zip named docx": (
        "report.docx",
        lambda: zip_bytes(["word/document.xml"]),
        "The file's content does not match its name (.docx).",
    ),
    "broken zip named docx": (
        "report.docx",
        lambda: b"PK\x03\x04 not really a zip",
        "The file's content does not match its name (.docx).",
    ),
    "empty": ("empty.pdf", lambda: b"", "The file is empty."),
    "over 20 MB": (
        "huge.pdf",
        lambda: PDF + b"\x00" * (20 * 1024 * 1024 + 1 - len(PDF)),
        "A file may be at most 20 MB.",
    ),
}


def upload_errors(response):
    return form_errors(response).get("file", [])


@pytest.mark.parametrize("case", REFUSED.values(), ids=REFUSED.keys())
def test_a_refused_file_gets_a_clear_message_and_nothing_is_stored(
    client, db, login, posted, uploads, case
):
    name, content, message = case
    owner, task = posted
    login(owner)
    before = table_counts()
    response = upload(client, task, content(), name)
    assert response.status_code == 400
    # the task page again, the reason at the file field
    assert f'action="/tasks/{task.id}/attachments"' in response.get_data(as_text=True)
    assert upload_errors(response) == [message]
    assert table_counts() == before
    assert not uploads.exists() or os.listdir(uploads) == []


def test_a_file_written_for_an_upload_that_rolls_back_is_removed(db, posted, uploads):
    """The file is written before its row is stored: when a later step of the same action
    fails, the transaction rolls back and the file goes with it."""
    owner, task = posted
    with pytest.raises(RuntimeError), transaction():
        attachments.add(owner, task, FileStorage(io.BytesIO(PDF), "spec.pdf"))
        assert len(os.listdir(uploads)) == 1
        raise RuntimeError("the next step of the action failed")
    assert os.listdir(uploads) == []
    assert db.session.scalars(sa.select(TaskAttachment)).all() == []


def test_a_file_of_exactly_20_mb_is_accepted(client, db, login, posted, uploads):
    owner, task = posted
    login(owner)
    content = PDF + b"\x00" * (20 * 1024 * 1024 - len(PDF))
    assert upload(client, task, content, "scan.pdf").status_code == 302
    assert db.session.scalar(sa.select(TaskAttachment)).size == 20 * 1024 * 1024


def test_only_the_enterprise_can_upload(
    client, db, make_user, make_org, make_task, login, posted, uploads
):
    owner, task = posted
    draft = make_task(owner, task.organization, publish=False)
    other = make_user()
    make_org(other, name="Other Enterprise")
    solver = make_user()
    assert upload(client, task, PDF, "a.pdf").status_code == 302  # to the login page
    for user in (other, solver):
        login(user)
        assert upload(client, task, PDF, "a.pdf").status_code == 403
        assert upload(client, draft, PDF, "a.pdf").status_code == 404
    assert db.session.scalars(sa.select(TaskAttachment)).all() == []
    assert not uploads.exists() or os.listdir(uploads) == []


def test_removing_an_attachment_deletes_its_file(
    client, db, make_user, make_org, login, posted, uploads
):
    owner, task = posted
    login(owner)
    upload(client, task, PDF, "old drawing.pdf")
    attachment = db.session.scalar(sa.select(TaskAttachment))
    attachment_id, path = attachment.id, uploads / attachment.stored_name
    assert path.exists()

    other = make_user()
    make_org(other, name="Other Enterprise")
    login(other)
    assert client.post(f"/attachments/{attachment_id}/remove").status_code == 403
    assert path.exists() and db.session.get(TaskAttachment, attachment_id) is not None

    login(owner)
    response = client.post(f"/attachments/{attachment_id}/remove")
    assert response.status_code == 302
    assert db.session.scalars(sa.select(TaskAttachment)).all() == []
    assert not path.exists()
    assert "old drawing.pdf" not in client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert client.get(f"/attachments/{attachment_id}").status_code == 404
