"""errors.refused(): a DomainError refusing a form's action lands at the field it names, or at
the top of the form when it names none the form has; its status is the error's."""

from flask import render_template_string
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from crowdsource import create_app
from crowdsource.errors import Conflict, DomainError, refused
from tests.plugin import app_config


class AmountForm(FlaskForm):
    amount = StringField("Amount")


def test_a_refusal_naming_a_field_lands_there_and_keeps_the_status(app):
    with app.test_request_context(method="POST", data={"amount": "12.5"}):
        form = AmountForm(meta={"csrf": False})
        form.validate()
        status = refused(form, Conflict("Already recorded.", field="amount"))
        assert status == 409
        assert form.amount.errors == ["Already recorded."]
        assert form.amount.data == "12.5" and form.form_errors == []


def test_a_refusal_naming_no_field_of_the_form_lands_at_the_top(app):
    with app.test_request_context(method="POST", data={"amount": "12.5"}):
        form = AmountForm(meta={"csrf": False})
        assert refused(form, DomainError("No.")) == 400
        assert refused(form, DomainError("Nor that.", field="reason")) == 400
        assert form.form_errors == ["No.", "Nor that."]
        assert not form.amount.errors
        assert list(form.errors.values()) == [["No.", "Nor that."]]  # page status: refused


def test_a_refusal_naming_what_a_user_typed_is_shown_as_text_not_html(app):
    name = '<img src="x">Haian'
    english = {"Accept-Language": "en"}
    with app.test_request_context(method="POST", data={"amount": "12.5"}, headers=english):
        form = AmountForm(meta={"csrf": False})
        refused(form, DomainError(_l("%(name)s is verified already.", name=name), field="amount"))
        refused(form, DomainError(_l("%(name)s is verified already.", name=name)))
        shown = render_template_string(
            "{% for e in form.amount.errors %}{{ e }}{% endfor %}|{{ form.form_errors[0] }}",
            form=form,
        )
    escaped = "&lt;img src=&#34;x&#34;&gt;Haian is verified already."
    assert shown == f"{escaped}|{escaped}"


def test_an_api_client_is_told_the_field(tmp_path):
    app = create_app(app_config(f"sqlite:///{tmp_path}/unused.db"))  # a route of its own

    @app.get("/api/_test_refusal")
    def _test_refusal():
        raise DomainError("Too much.", field="amount")

    response = app.test_client().get("/api/_test_refusal")
    assert response.status_code == 400
    assert response.get_json() == {"error": "Too much.", "field": "amount"}
