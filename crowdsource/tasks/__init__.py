"""Tasks: posting technical challenges, finding them, clarification Q&A, deadlines."""

from flask import Blueprint

bp = Blueprint("tasks", __name__)
