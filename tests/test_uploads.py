"""Uploaded files live in one folder that every app server and worker resolves the same way
(crowdsource.config.upload_folder): a file uploaded through one server downloads from another,
whatever folder each process started in; production refuses to start without an absolute one."""

import contextvars
import io
import os
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from rq.job import Job

from crowdsource import create_app
from crowdsource.config import ConfigError
from crowdsource.db import db
from crowdsource.queue import run_job
from crowdsource.tasks.models import TaskAttachment
from tests.helpers import PASSWORD

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


def server_app(app, monkeypatch, cwd, upload_folder):
    """An app built from the environment as an app server builds it, in the folder ``cwd``,
    on the test's database, with ``UPLOAD_FOLDER=upload_folder``."""
    cwd.mkdir(exist_ok=True)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("SECRET_KEY", "the same key on every server")
    monkeypatch.setenv("UPLOAD_FOLDER", str(upload_folder))
    monkeypatch.delenv("REDIS_URL", raising=False)
    return create_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "PASSWORD_HASH_METHOD": app.config["PASSWORD_HASH_METHOD"],
            "SWEEP_ON_ACCESS_SECONDS": 0,
            "MAIL_BACKEND": "locmem",
        }
    )


def serve(client, method, *args, **kwargs):
    """A request in a context of its own, as a separate server process would serve it; the
    test's session ends its transaction before and reads afresh after."""
    db.session.commit()
    response = contextvars.Context().run(getattr(client, method), *args, **kwargs)
    db.session.expire_all()
    return response


@pytest.fixture(params=["absolute", "relative"])
def two_servers(request, app, db, monkeypatch, tmp_path):
    """Two apps built separately, each in a folder of its own, with the same settings: an
    absolute UPLOAD_FOLDER (production's), or one relative to the instance folder."""
    shared = tmp_path / "shared-volume" / "uploads"
    setting = str(shared)
    if request.param == "relative":
        setting = os.path.relpath(shared, app.instance_path)
    servers = [server_app(app, monkeypatch, tmp_path / name, setting) for name in ("a", "b")]
    yield servers, shared
    for built in servers:
        with built.app_context():
            built.extensions["sqlalchemy"].engine.dispose()


def test_a_file_uploaded_through_one_server_downloads_from_another(
    two_servers, db, make_user, make_org, make_task, monkeypatch, tmp_path
):
    (first, second), shared = two_servers
    owner = make_user()
    task = make_task(owner, make_org(owner))

    monkeypatch.chdir(tmp_path / "a")  # each server runs in its own folder
    uploader = first.test_client()
    login = {"email": owner.email, "password": PASSWORD}
    assert serve(uploader, "post", "/login", data=login).status_code == 302
    response = serve(
        uploader,
        "post",
        f"/tasks/{task.id}/attachments",
        data={"file": (io.BytesIO(PDF), "spec.pdf")},
    )
    assert response.status_code == 302
    attachment = db.session.scalar(sa.select(TaskAttachment))
    assert os.listdir(shared) == [attachment.stored_name]

    monkeypatch.chdir(tmp_path / "b")
    download = serve(second.test_client(), "get", f"/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == PDF
    assert first.config["UPLOAD_FOLDER"] == second.config["UPLOAD_FOLDER"] == str(shared)


def test_a_relative_upload_folder_lies_under_the_instance_folder_not_the_working_one(
    app, monkeypatch, tmp_path
):
    built = []
    for name in ("server", "worker"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        monkeypatch.setenv("UPLOAD_FOLDER", "uploads-of-this-site")
        built.append(create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}))
    expected = os.path.join(built[0].instance_path, "uploads-of-this-site")
    assert [each.config["UPLOAD_FOLDER"] for each in built] == [expected, expected]
    monkeypatch.delenv("UPLOAD_FOLDER")
    default = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert default.config["UPLOAD_FOLDER"] == os.path.join(default.instance_path, "uploads")


@pytest.mark.parametrize("value", [None, "uploads", "./srv/uploads"])
def test_production_refuses_to_start_without_an_absolute_upload_folder(monkeypatch, value):
    monkeypatch.setenv("CROWDSOURCE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a real secret")
    if value is None:
        monkeypatch.delenv("UPLOAD_FOLDER", raising=False)
    else:
        monkeypatch.setenv("UPLOAD_FOLDER", value)
    with pytest.raises(ConfigError, match="UPLOAD_FOLDER must be an absolute path"):
        create_app()


def test_the_worker_finds_uploads_where_the_servers_put_them(
    app, db, redis_queue, monkeypatch, tmp_path
):
    """`flask worker`, started in another folder, resolves a relative UPLOAD_FOLDER to the
    folder an app server resolves it to: a job of the worker answers where it is."""
    relative = f"uploads-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("UPLOAD_FOLDER", relative)
    server = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    job = redis_queue.lane("default").enqueue(run_job, "crowdsource.uploads:folder")
    worker_folder = tmp_path / "worker"
    worker_folder.mkdir()
    env = dict(
        os.environ,
        FLASK_APP="crowdsource",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        RQ_QUEUE=redis_queue.name,
        UPLOAD_FOLDER=relative,
    )
    try:
        result = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "flask"), "worker", "--burst"],
            cwd=worker_folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        answer = Job.fetch(job.id, connection=redis_queue.connection).return_value()
        assert str(answer) == server.config["UPLOAD_FOLDER"]
        assert server.config["UPLOAD_FOLDER"] == os.path.join(server.instance_path, relative)
    finally:
        # The job made the folder (uploads.folder() creates it): remove it again.
        folder = os.path.join(server.instance_path, relative)
        if os.path.isdir(folder):
            os.rmdir(folder)
