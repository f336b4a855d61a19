"""Uploaded files on disk: the folder they live in, and storing one for the transaction that
records it (the file is removed again if that transaction rolls back). What a package accepts
(types, sizes) and who may download a file are its own rules."""

import os
import pathlib
import uuid

from flask import current_app

from crowdsource.db import after_rollback


def folder():
    """The folder of every uploaded file (task attachments, contract files, business licences):
    the app's UPLOAD_FOLDER, made absolute when the app was built (crowdsource.config
    .upload_folder), so that every app server and worker with the same settings reads and
    writes the same files."""
    path = pathlib.Path(current_app.config["UPLOAD_FOLDER"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def size(stream):
    """The size of an uploaded file's stream in bytes (the stream is rewound)."""
    stream.seek(0, os.SEEK_END)
    length = stream.tell()
    stream.seek(0)
    return length


def begins_with(stream, signatures):
    """True when the stream's content starts with one of ``signatures`` (rewound after)."""
    head = stream.read(16)
    stream.seek(0)
    return head.startswith(tuple(signatures))


def store(file_storage, extension):
    """Write the uploaded file under a generated name with ``extension`` and return that name.
    If the current transaction rolls back, the file is removed: a refused or failed upload
    leaves nothing behind."""
    stored_name = f"{uuid.uuid4().hex}.{extension}"
    path = folder() / stored_name
    after_rollback(path.unlink, missing_ok=True)
    file_storage.save(path)
    return stored_name
