"""Task attachments: checked for type (by name and by content) and size, stored outside the
static folder under generated names, served only as downloads to users allowed to see them."""

import dataclasses
import pathlib
import zipfile

from flask_babel import lazy_gettext as _l

from crowdsource import uploads
from crowdsource.db import after_commit, db
from crowdsource.errors import DomainError, NotFound
from crowdsource.tasks import access, services
from crowdsource.tasks.models import TaskAttachment

MAX_BYTES = 20 * 1024 * 1024
MAX_PER_TASK = 20

ZIP = (b"PK\x03\x04", b"PK\x05\x06")
OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
#: allowed extensions, the content type they are stored with, and how their files begin
ALLOWED = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    "zip": ("application/zip", ZIP),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ZIP),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ZIP),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", ZIP),
    "doc": ("application/msword", OLE),
    "xls": ("application/vnd.ms-excel", OLE),
    "ppt": ("application/vnd.ms-powerpoint", OLE),
}
OFFICE_XML = {"docx", "xlsx", "pptx"}


def problem(filename, stream):
    """Why this file may not be attached (a message), or None."""
    extension = pathlib.PurePath(filename or "").suffix.lower().lstrip(".")
    if extension not in ALLOWED:
        return _l("Attach PDF, images (PNG, JPEG, GIF), office documents or ZIP files only.")
    size = uploads.size(stream)
    if size == 0:
        return _l("The file is empty.")
    if size > MAX_BYTES:
        return _l("A file may be at most %(mb)d MB.", mb=MAX_BYTES // (1024 * 1024))
    head = stream.read(16)
    stream.seek(0)
    if not head.startswith(ALLOWED[extension][1]):
        return _l("The file's content does not match its name (.%(ext)s).", ext=extension)
    if extension in OFFICE_XML:
        try:
            with zipfile.ZipFile(stream) as archive:
                is_office = "[Content_Types].xml" in archive.namelist()
        except zipfile.BadZipFile:
            is_office = False
        stream.seek(0)
        if not is_office:
            return _l("The file's content does not match its name (.%(ext)s).", ext=extension)
    return None


@dataclasses.dataclass(frozen=True)
class Stored:
    """An upload written to the uploads folder: the columns every file record keeps."""

    original_name: str
    stored_name: str
    content_type: str
    size: int

    def columns(self):
        return dataclasses.asdict(self)


def store(file_storage):
    """Write a checked upload (see :func:`problem`) under a generated name; the file is removed
    again if the transaction rolls back."""
    name = pathlib.PurePath(file_storage.filename)
    extension = name.suffix.lower().lstrip(".")
    size = uploads.size(file_storage.stream)
    return Stored(
        original_name=name.name[:255],
        stored_name=uploads.store(file_storage, extension),
        content_type=ALLOWED[extension][0],
        size=size,
    )


def add(actor, task, file_storage):
    """Attach an uploaded file to a draft or open task of the actor's organization. The file
    written for a transaction that rolls back is removed again."""
    services.require("attach", actor, task)
    if len(task.attachments) >= MAX_PER_TASK:
        raise DomainError(_l("A task has at most %(count)d attachments.", count=MAX_PER_TASK))
    reason = problem(file_storage.filename, file_storage.stream)
    if reason:
        raise DomainError(reason, field="file")
    attachment = TaskAttachment(
        task_id=task.id, uploaded_by_id=actor.id, **store(file_storage).columns()
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def remove(actor, attachment):
    """Remove an attachment of a draft or open task; the file is deleted after the commit."""
    task = attachment.task
    services.require("remove_attachment", actor, task)
    path = uploads.folder() / attachment.stored_name
    db.session.delete(attachment)
    db.session.flush()
    after_commit(path.unlink, missing_ok=True)


def path_of(user, attachment):
    """The stored file of an attachment, if the user may download it (else NotFound)."""
    if not access.can_view_full(user, attachment.task):
        raise NotFound()
    return uploads.folder() / attachment.stored_name
