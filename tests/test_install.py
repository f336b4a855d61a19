"""An installed copy of the package ships what it runs: compiled catalogs and the migrations.

The package is built as a release is: an sdist of (a copy of) the working tree, then a wheel of
that sdist (without build isolation, so nothing is downloaded). The wheel goes into a fresh virtual
environment, which borrows the dependencies of the suite's environment by a path in a .pth file
— a plain path, so the ``.pth`` files there (among them the editable install's finder, which
would import the source tree) are not run. From a folder outside the checkout, that copy builds
a SQLite database with ``flask db upgrade`` and sends a notification mail to a Chinese reader
through the job the worker runs. No date is involved, so the subprocesses need no test clock.
"""

import json
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile

import pytest
from alembic.script import ScriptDirectory

import crowdsource

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = pathlib.Path(crowdsource.__file__).resolve().parent
#: the locales of the catalogs in the source tree, e.g. "en", "zh_Hans_CN"
LOCALES = sorted(po.parent.parent.name for po in SOURCE.glob("translations/*/LC_MESSAGES/*.po"))
#: the migration scripts in the source tree, as paths inside the package
MIGRATION_SCRIPTS = sorted(
    f"crowdsource/{path.relative_to(SOURCE).as_posix()}"
    for path in SOURCE.glob("migrations/versions/*.py")
)

#: run by the fresh environment's Python: a notification mailed to a zh_CN reader, inline, by
#: the job a worker runs (crowdsource.notifications.jobs), caught by Flask-Mailman's locmem
SEND_MAIL = """
import json

import sqlalchemy as sa

import crowdsource
from crowdsource.accounts.services import register_user
from crowdsource.db import db, transaction
from crowdsource.notifications.models import Kind
from crowdsource.notifications.services import notify

app = crowdsource.create_app()
with app.app_context():
    mailman = app.extensions["mailman"]
    mailman.outbox = []
    with transaction():
        reader = register_user("li@example.cn", "correct horse battery", "李雷", "zh_CN")
        notify([reader], Kind.TASK_CANCELLED, "/tasks/1", task="智能灌溉传感器")
    [message] = mailman.outbox
    print(json.dumps({
        "package": crowdsource.__file__,
        "revision": db.session.scalar(sa.text("SELECT version_num FROM alembic_version")),
        "to": message.to,
        "subject": message.subject,
        "body": message.body,
    }))
"""


def run(command, **options):
    """Run ``command``; its stdout, or a failure that shows what it printed."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, **options)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """``(sdist, wheel)``: the sdist of the working tree and the wheel built from that sdist."""
    checkout = copy_of_working_tree(tmp_path_factory.mktemp("checkout"))
    folder = tmp_path_factory.mktemp("dist")
    build_sdist = (
        "import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])"
    )
    run([sys.executable, "-c", build_sdist, str(folder)], cwd=checkout)
    [sdist] = folder.glob("*.tar.gz")
    pip_wheel = ["wheel", "--no-deps", "--no-build-isolation", "--no-index", "--no-cache-dir"]
    run([sys.executable, "-m", "pip", *pip_wheel, "-q", "-w", str(folder), str(sdist)], cwd=folder)
    [wheel] = folder.glob("*.whl")
    return sdist, wheel


def copy_of_working_tree(destination):
    """The files of the working tree that git would commit (tracked or new, not ignored), as a
    fresh clone has them: no egg-info, build/ or .mo of earlier builds to hide a missing file."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():  # not deleted from the tree yet
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    return destination


def test_the_wheel_holds_compiled_catalogs_and_every_migration(dist):
    sdist, wheel = dist
    with tarfile.open(sdist) as archive:
        in_sdist = {name.partition("/")[2] for name in archive.getnames()}
    # The sdist carries the sources of the catalogs, never a compiled (maybe stale) copy.
    for locale in LOCALES:
        assert f"crowdsource/translations/{locale}/LC_MESSAGES/messages.po" in in_sdist
    assert not [name for name in in_sdist if name.endswith(".mo")]

    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert LOCALES  # en and zh_Hans_CN
    for locale in LOCALES:
        assert f"crowdsource/translations/{locale}/LC_MESSAGES/messages.mo" in in_wheel
    versions = sorted(
        name for name in in_wheel if name.startswith("crowdsource/migrations/versions/")
    )
    assert versions == MIGRATION_SCRIPTS
    assert "crowdsource/migrations/versions/0001_initial.py" in versions
    for name in ("alembic.ini", "env.py", "script.py.mako"):
        assert f"crowdsource/migrations/{name}" in in_wheel


def test_installed_copy_migrates_and_mails_a_chinese_reader_in_chinese(dist, tmp_path):
    _, wheel = dist
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    pip_install = ["install", "-q", "--no-deps", "--no-index", "--no-cache-dir", str(wheel)]
    run([sys.executable, "-m", "pip", "--python", str(python), *pip_install])
    site_packages = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
    )
    # Only after the install, so pip never sees (nor touches) the suite's packages.
    (pathlib.Path(site_packages.strip()) / "suite_dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n"
    )

    elsewhere = tmp_path / "elsewhere"  # no crowdsource/ folder here to import instead
    elsewhere.mkdir()
    environment = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "FLASK_APP": "crowdsource",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'installed.db'}",
        "MAIL_BACKEND": "locmem",
        "PUBLIC_URL": "http://crowdsource.test",
        "PASSWORD_HASH_METHOD": "scrypt:128:8:1",
    }
    run([str(python), "-m", "flask", "db", "upgrade"], cwd=elsewhere, env=environment)
    sent = json.loads(run([str(python), "-c", SEND_MAIL], cwd=elsewhere, env=environment))

    assert pathlib.Path(sent["package"]).resolve().is_relative_to(venv.resolve())
    assert sent["revision"] == ScriptDirectory(str(SOURCE / "migrations")).get_current_head()
    assert sent["to"] == ["li@example.cn"]
    assert sent["subject"] == "“智能灌溉传感器”已取消"
    assert "打开众包创新平台：http://crowdsource.test/tasks/1" in sent["body"]
