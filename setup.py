"""Build hook: every built copy of the package carries its compiled message catalogs.

git keeps the catalogs as ``.po`` sources only (``*.mo`` is ignored), and an installed copy
reads ``.mo`` files: without them every page and every mail is in English. So building the
package (``pip install .``, a wheel, a wheel built from the sdist) compiles the ``.po`` files
of the build's own copy of crowdsource/translations with the command ``make
compile-translations`` runs on the source tree: ``pybabel compile``. Compiling into the build
rather than the source tree means the wheel never takes up a stale ``.mo`` left in the
checkout. Babel is in the build requirements (pyproject.toml).

Editable installs (``make install``) import the source tree itself, where ``make
compile-translations`` compiles the catalogs. Everything else about the package is declared in
setup.cfg.
"""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCatalogs(build_py):
    """build_py into an empty folder, then ``pybabel compile`` of the catalogs it copied."""

    def run(self):
        if self.editable_mode:
            super().run()
            return
        # setuptools reuses build/ and only adds to it: a migration renamed or a module deleted
        # in the checkout would otherwise still ship with the next `pip install .`.
        package = os.path.join(self.build_lib, "crowdsource")
        shutil.rmtree(package, ignore_errors=True)
        super().run()
        compile_catalogs(os.path.join(package, "translations"))


def compile_catalogs(directory):
    """Compile every ``<locale>/LC_MESSAGES/messages.po`` under ``directory``; a catalog with
    errors fails the build rather than ship without its translations."""
    from babel.messages.frontend import CommandLineInterface

    if CommandLineInterface().run(["pybabel", "-q", "compile", "-d", directory]):
        raise SystemExit(f"pybabel compile failed in {directory}")


setup(cmdclass={"build_py": BuildPyWithCatalogs})
