"""Clarification questions: solvers ask, the enterprise answers, everyone who can see the task
(and has accepted any NDA) reads the answered ones (the asker's name shown only to the
enterprise and the asker)."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from crowdsource.db import db, utcnow
from crowdsource.errors import DomainError
from crowdsource.notifications.models import Kind
from crowdsource.notifications.services import notify
from crowdsource.tasks import access, services
from crowdsource.tasks.models import Question

MAX_LENGTH = 4000


def ask(actor, task, body, now=None):
    """A solver asks a question on an open task; the enterprise's members are told."""
    services.require("ask", actor, task, now)
    body = (body or "").strip()
    if not body or len(body) > MAX_LENGTH:
        raise DomainError(
            _l("Write a question of at most %(count)d characters.", count=MAX_LENGTH),
            field="body",
        )
    question = Question(task_id=task.id, asker_id=actor.id, body=body, created_at=now or utcnow())
    db.session.add(question)
    db.session.flush()
    members = task.organization.members
    notify(
        members,
        Kind.QUESTION_ASKED,
        link_to(members[0], question) if members else "",
        task,
        task=task.title,
        question=body[:300],
    )
    return question


def answer(actor, question, text, now=None):
    """A member of the enterprise answers (or corrects an answer); the asker is told."""
    task = question.task
    services.require("answer", actor, task, now)
    text = (text or "").strip()
    if not text or len(text) > MAX_LENGTH:
        raise DomainError(
            _l("Write an answer of at most %(count)d characters.", count=MAX_LENGTH),
            field="answer",
        )
    question.answer = text
    question.answered_by_id = actor.id
    question.answered_at = now or utcnow()
    db.session.flush()
    notify(
        [question.asker],
        Kind.QUESTION_ANSWERED,
        link_to(question.asker, question),
        task,
        task=task.title,
        answer=text[:300],
    )
    db.session.flush()
    return question


def named_askers(user, task, shown):
    """The ids of the questions (of ``shown``, on ``task``) whose asker the user sees: all of
    them for the enterprise, the user's own for everyone else."""
    if access.is_member(user, task):
        return {question.id for question in shown}
    if not getattr(user, "is_authenticated", False):
        return set()
    return {question.id for question in shown if question.asker_id == user.id}


def visible_questions(user, task):
    """The questions the user may read on the task, oldest first: all of them for the
    enterprise, answered ones plus their own for everyone else; none before an NDA is accepted
    (the answers are as confidential as the description they explain)."""
    return list(db.session.scalars(_visible_query(user, task)))


#: questions on one page of a task
QUESTIONS_PER_PAGE = 20


def page_of_visible(user, task, page=1):
    """One page of :func:`visible_questions` (a Flask-SQLAlchemy Pagination); a page past the
    end is empty."""
    query = _visible_query(user, task)
    return db.paginate(query, page=page, per_page=QUESTIONS_PER_PAGE, error_out=False)


def page_showing(user, question):
    """The page of the task's questions, as ``user`` sees them, that shows ``question``."""
    before = _visible_query(user, question.task).where(Question.id <= question.id)
    position = db.session.scalar(sa.select(sa.func.count()).select_from(before.subquery()))
    return max(1, -(-position // QUESTIONS_PER_PAGE))


def link_to(user, question):
    """The address of ``question`` on its task's page as ``user`` sees it: on the page of the
    questions that shows it (none named for the first)."""
    page = page_showing(user, question)
    query = f"?page={page}" if page > 1 else ""
    return f"/tasks/{question.task_id}{query}#question-{question.id}"


def _visible_query(user, task):
    query = sa.select(Question).where(Question.task_id == task.id).order_by(Question.id)
    if not access.can_view_full(user, task):
        return query.where(sa.false())
    if not access.is_member(user, task):
        condition = Question.answer.is_not(None)
        if getattr(user, "is_authenticated", False):
            condition = sa.or_(condition, Question.asker_id == user.id)
        query = query.where(condition)
    return query.options(sa.orm.joinedload(Question.asker))
