"""Questions and answers on a task; attachments: upload, download, removal."""

from flask import flash, redirect, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource.db import transaction
from crowdsource.errors import DomainError, refused
from crowdsource.tasks import access, attachments, bp, page, questions, services
from crowdsource.tasks.forms import AnswerForm, AttachmentForm, QuestionForm
from crowdsource.tasks.models import Question, Task, TaskAttachment
from crowdsource.throttle import limit_content
from crowdsource.web import ConfirmForm, get_or_404, require_valid


def _back(task, anchor=None):
    return redirect(url_for("tasks.show", task_id=task.id, _anchor=anchor))


def _to_question(question):
    """Back to the question on the page of the task that shows it."""
    return redirect(questions.link_to(current_user, question))


def _typed_again(task, action, error=None, answer_to=None, **forms):
    """The task page again with the refused form (the one in ``forms``) as typed, the message
    of ``error`` (a DomainError; None: the form's own validation) at its field, under a 4xx.
    When the page no longer offers ``action`` (the task closed meanwhile, say) there is no
    form to show: the refusal is an error page that says why."""
    (form,) = forms.values()
    if action not in services.allowed_actions(current_user, task):
        if error is not None:
            raise error
        require_valid(form)  # nowhere to show the form's messages: an error page says them
    status = refused(form, error) if error is not None else 400
    return page.render(task, status, answer_to=answer_to, **forms)


@bp.post("/tasks/<int:task_id>/questions")
@login_required
def ask(task_id):
    task = get_or_404(Task, task_id)
    access.require_view(current_user, task)
    form = QuestionForm()
    if not form.validate_on_submit():
        return _typed_again(task, "ask", question_form=form)
    try:
        limit_content("questions", current_user)
        with transaction():
            question = questions.ask(current_user, task, form.body.data)
    except DomainError as error:
        return _typed_again(task, "ask", error, question_form=form)
    flash(_("Your question has been sent. You will be told when it is answered."), "success")
    return _to_question(question)


@bp.post("/questions/<int:question_id>/answer")
@login_required
def answer(question_id):
    question = get_or_404(Question, question_id)
    task = question.task
    access.require_member(current_user, task)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _typed_again(task, "answer", answer_form=form, answer_to=question.id)
    try:
        limit_content("answers", current_user)
        with transaction():
            questions.answer(current_user, question, form.answer.data)
    except DomainError as error:
        return _typed_again(task, "answer", error, answer_form=form, answer_to=question.id)
    flash(_("Your answer is published on the task."), "success")
    return _to_question(question)


@bp.post("/tasks/<int:task_id>/attachments")
@login_required
def upload(task_id):
    task = get_or_404(Task, task_id)
    access.require_member(current_user, task)
    form = AttachmentForm()
    if not form.validate_on_submit():
        return _typed_again(task, "attach", attachment_form=form)
    try:
        limit_content("uploads", current_user)
        with transaction():
            attachment = attachments.add(current_user, task, form.file.data)
    except DomainError as error:
        return _typed_again(task, "attach", error, attachment_form=form)
    flash(_("%(name)s is attached.", name=attachment.original_name), "success")
    return _back(task, "attachments")


@bp.get("/attachments/<int:attachment_id>")
def download(attachment_id):
    attachment = get_or_404(TaskAttachment, attachment_id)
    path = attachments.path_of(current_user, attachment)
    return send_file(
        path,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.original_name,
        max_age=0,
    )


@bp.post("/attachments/<int:attachment_id>/remove")
@login_required
def remove_attachment(attachment_id):
    attachment = get_or_404(TaskAttachment, attachment_id)
    task = attachment.task
    ConfirmForm().validate_on_submit()
    with transaction():
        attachments.remove(current_user, attachment)
    flash(_("The file has been removed."), "info")
    return _back(task, "attachments")
