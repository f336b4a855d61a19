"""Files on a contract (with a delivery, a message or a dispute's post): checked like task
attachments (type by name and by content, size), stored outside the static folder under
generated names, downloaded only by people who may see the contract."""

import pathlib

from flask_babel import lazy_gettext as _l

from crowdsource import uploads
from crowdsource.contracts import services
from crowdsource.contracts.models import ContractFile
from crowdsource.db import db
from crowdsource.errors import DomainError, NotFound
from crowdsource.tasks import attachments
from crowdsource.tasks.attachments import problem

MAX_FILES = 10
#: types a browser shows by itself: images in the page, PDFs in its viewer
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})
PDF_TYPE = "application/pdf"


def uploaded(file_storages):
    """The files a form really carried (browsers send an empty part for an empty input)."""
    return [f for f in file_storages or [] if f is not None and f.filename]


def check(file_storages):
    """Refuse the whole set if any file may not be attached (before anything is stored)."""
    files = uploaded(file_storages)
    if len(files) > MAX_FILES:
        raise DomainError(
            _l("Attach at most %(count)d files at once.", count=MAX_FILES), field="files"
        )
    for storage in files:
        reason = problem(storage.filename, storage.stream)
        if reason:
            raise DomainError(
                _l(
                    "%(name)s: %(reason)s",
                    name=pathlib.PurePath(storage.filename).name,
                    reason=reason,
                ),
                field="files",
            )
    return files


def attach(actor, contract, file_storages, delivery=None, message=None, dispute_entry=None):
    """Store checked files and record them on ``contract``, attached to exactly one of a
    delivery, a message or a dispute's entry. A file written for a transaction that rolls back
    is removed again."""
    stored = []
    for storage in check(file_storages):
        record = ContractFile(
            contract_id=contract.id,
            delivery_id=getattr(delivery, "id", None),
            message_id=getattr(message, "id", None),
            dispute_entry_id=getattr(dispute_entry, "id", None),
            uploaded_by_id=actor.id,
            **attachments.store(storage).columns(),
        )
        db.session.add(record)
        stored.append(record)
    db.session.flush()
    return stored


def previewable(contract_file):
    """True when the browser can show the file itself (an image or a PDF)."""
    return contract_file.content_type in IMAGE_TYPES | {PDF_TYPE}


def path_of(user, contract_file):
    """The stored file, if the user may see its contract (else NotFound)."""
    if not services.can_view(user, contract_file.contract):
        raise NotFound()
    return uploads.folder() / contract_file.stored_name
