"""Crowdsource: the crowdsourcing innovation marketplace. create_app() wires the application."""

import datetime as dt
import importlib
import os

from flask import Flask
from flask_babel import lazy_gettext as _l
from werkzeug.middleware.proxy_fix import ProxyFix

from crowdsource import assets, lifecycle
from crowdsource import config as settings
from crowdsource.extensions import (
    babel,
    bootstrap,
    compress,
    csrf,
    db,
    login_manager,
    mailman,
    migrate,
)
from crowdsource.logs import configure_logging, register_request_id

#: the Alembic migrations ship inside the package, so an installed copy migrates from any folder
MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")

#: Content-Security-Policy: the app's own scripts, styles, fonts and images only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def create_app(config=None):
    """Build the application; ``config`` overrides settings read from the environment."""
    app = Flask(__name__)
    app.config.from_object(settings.BaseSettings)
    app.config.update(settings.from_environment())
    app.config.update(config or {})
    app.config["UPLOAD_FOLDER"] = settings.upload_folder(
        app.config["UPLOAD_FOLDER"],
        app.instance_path,
        production=app.config["CROWDSOURCE_ENV"] == "production",
    )
    configure_logging(app)
    app.config["REMEMBER_COOKIE_DURATION"] = dt.timedelta(
        days=app.config["REMEMBER_COOKIE_DURATION_DAYS"]
    )
    register_proxy(app)
    register_request_id(app)  # first: every later hook's log lines carry the id
    register_extensions(app)
    register_throttle(app)
    register_request_checks(app)
    register_blueprints(app)
    register_templating(app)
    register_security_headers(app)
    register_sweep_on_access(app)
    register_error_handlers(app)
    register_cli(app)
    return app


def register_proxy(app):
    """Behind PROXY_COUNT trusted proxies (nginx: 1), take the client's address, the scheme
    (https), host and port from their X-Forwarded-* headers; with none, ignore those headers.
    The app is served at the root of its host, so no X-Forwarded-Prefix is trusted."""
    count = app.config["PROXY_COUNT"]
    if count > 0:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count
        )


def register_extensions(app):
    from crowdsource.i18n import select_locale, select_timezone

    # first: Flask runs after-request hooks in reverse, so compression comes after every other
    compress.init_app(app)
    assets.init_app(app)
    db.init_app(app)
    lifecycle.install_guard()  # every status change goes through its state machine
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True)
    csrf.init_app(app)
    mailman.init_app(app)
    bootstrap.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.refresh_view = "accounts.login"
    login_manager.needs_refresh_message = _l("Please log in again to confirm it is you.")
    login_manager.needs_refresh_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)


def register_throttle(app):
    """The app's rate limits (Flask-Limiter, on Redis or in memory: crowdsource.throttle)."""
    from crowdsource import throttle

    throttle.init_app(app)


def load_user(identity):
    """The user of the cookies' ``"<user id>:<session key>"`` while that session lives."""
    from crowdsource.accounts import sessions

    return sessions.load(identity)


def register_request_checks(app):
    """Input no view can use is refused before any view or query sees it: ids too large for
    their columns (404: the routes' ``int`` converter) and control characters (400)."""
    from crowdsource.web import IdConverter, refuse_control_characters

    app.url_map.converters["int"] = IdConverter  # before the blueprints add their routes
    app.before_request(refuse_control_characters)


#: every module that attaches routes (or commands) to a package's blueprint when imported.
#: Only register_blueprints imports them: no other module imports a view.
VIEW_MODULES = (
    "crowdsource.accounts.views",
    "crowdsource.accounts.security_views",
    "crowdsource.accounts.two_factor_views",
    "crowdsource.accounts.org_views",
    "crowdsource.accounts.center_views",
    "crowdsource.accounts.verification_views",
    "crowdsource.tasks.views",
    "crowdsource.tasks.qa_views",
    "crowdsource.bids.views",
    "crowdsource.bids.offer_views",
    "crowdsource.contracts.views",
    "crowdsource.contracts.rating_views",
    "crowdsource.contracts.workflow_views",
    "crowdsource.disputes.views",
    "crowdsource.notifications.views",
    "crowdsource.payments.views",
    "crowdsource.payments.manage_views",
    "crowdsource.payments.details_views",
    "crowdsource.payments.stripe_views",
    "crowdsource.payments.transfer_views",
    "crowdsource.stats.views",
    "crowdsource.stats.api",
    "crowdsource.stats.cli",
    "crowdsource.console.views",
    "crowdsource.searches.views",
    "crowdsource.profiles.views",
)


def register_blueprints(app):
    from crowdsource import (
        accounts,
        bids,
        console,
        contracts,
        disputes,
        home,
        notifications,
        payments,
        profiles,
        searches,
        stats,
        tasks,
    )

    for name in VIEW_MODULES:
        importlib.import_module(name)
    app.register_blueprint(home.bp)
    for package in (
        accounts,
        tasks,
        bids,
        contracts,
        disputes,
        notifications,
        payments,
        stats,
        console,
        searches,
        profiles,
    ):
        app.register_blueprint(package.bp)


def register_templating(app):
    from crowdsource.accounts.models import LANGUAGE_NAMES
    from crowdsource.accounts.places import place
    from crowdsource.home import navigation
    from crowdsource.i18n import current_language, format_moment
    from crowdsource.money import format_bps, format_money
    from crowdsource.text import render_markdown
    from crowdsource.web import ConfirmForm

    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["datetimeformat"] = format_moment  # to the minute
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["percent"] = format_bps
    app.jinja_env.filters["age"] = format_age
    app.jinja_env.filters["place"] = place
    app.jinja_env.globals["current_language"] = current_language

    @app.context_processor
    def inject_navigation():
        return {
            "nav": navigation(),
            "language_names": LANGUAGE_NAMES,
            "language_form": ConfirmForm(formdata=None),
        }


def format_age(delta):
    """How long something has waited, in words of the reader's language ("3 minutes")."""
    from flask_babel import format_timedelta

    return format_timedelta(max(delta, dt.timedelta(0)), granularity="second", threshold=1.1)


def register_security_headers(app):
    @app.after_request
    def add_security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if app.config["CROWDSOURCE_ENV"] == "production":
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response


def register_sweep_on_access(app):
    """Deadlines pass even where no `flask sweep --every` process runs (the embedded mode):
    every SWEEP_ON_ACCESS_SECONDS a request first runs the sweep (0 turns this off). Jobs
    waiting in the outbox are relayed after a response every OUTBOX_RELAY_SECONDS."""
    from crowdsource.outbox import relay_after_response
    from crowdsource.sweep import sweep_on_access

    app.before_request(sweep_on_access)
    app.after_request(relay_after_response)


def register_error_handlers(app):
    from crowdsource.errors import register_error_handlers as register

    register(app)


def register_cli(app):
    from crowdsource.cli import register_commands
    from crowdsource.worker import worker_command

    register_commands(app)
    app.cli.add_command(worker_command)
