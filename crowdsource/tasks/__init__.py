"""Tasks: posting technical challenges, finding them, clarification Q&A, deadlines."""

from flask import Blueprint

bp = Blueprint("tasks", __name__)


def blueprint():
    """The blueprint with its views attached (imported here, not at package import, so that
    models of this package can be imported without loading every view)."""
    from crowdsource.tasks import qa_views, views  # noqa: F401

    return bp
