"""Settings from environment variables, with embedded defaults for a fresh machine.

The embedded default is a SQLite file under ``instance/``, jobs run inline and mail is
printed to the console. Production (``CROWDSOURCE_ENV=production``) refuses to start
without a real ``SECRET_KEY`` or without an absolute ``UPLOAD_FOLDER`` (see
:func:`upload_folder`).
"""

import os

DEV_SECRET_KEY = "dev-only-not-secret"

#: short names of mail backends of our own (Flask-Mailman knows smtp, console, file, locmem)
MAIL_BACKENDS = {"log": "crowdsource.mail.LogEmailBackend"}
#: values of LOG_FORMAT (crowdsource.logs) and LOG_LEVEL
LOG_FORMATS = ("json", "logfmt")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


#: content rate limits (crowdsource.throttle.CONTENT_KINDS) and their defaults
CONTENT_RATE_LIMITS = {
    "RATE_LIMIT_QUESTIONS_PER_ACCOUNT": "5 per minute; 30 per hour; 200 per day",
    "RATE_LIMIT_QUESTIONS_PER_ADDRESS": "20 per minute; 200 per hour",
    "RATE_LIMIT_ANSWERS_PER_ACCOUNT": "20 per minute; 300 per hour",
    "RATE_LIMIT_ANSWERS_PER_ADDRESS": "60 per minute; 1000 per hour",
    "RATE_LIMIT_MESSAGES_PER_ACCOUNT": "10 per minute; 200 per hour",
    "RATE_LIMIT_MESSAGES_PER_ADDRESS": "30 per minute; 600 per hour",
    "RATE_LIMIT_BIDS_PER_ACCOUNT": "5 per minute; 50 per day",
    "RATE_LIMIT_BIDS_PER_ADDRESS": "20 per minute; 300 per day",
    "RATE_LIMIT_UPLOADS_PER_ACCOUNT": "20 per minute; 300 per day",
    "RATE_LIMIT_UPLOADS_PER_ADDRESS": "60 per minute; 1000 per day",
    "RATE_LIMIT_REGISTRATIONS_PER_ADDRESS": "5 per hour; 20 per day",
}


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


def _bool(value, default=False):
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _count(env, name, default=0):
    """A whole number >= 0 from ``env[name]``; ConfigError otherwise."""
    text = env.get(name, "").strip() or str(default)
    if not text.isdigit():
        raise ConfigError(f"{name} must be a whole number (0 or more), not {text!r}")
    return int(text)


def _choice(env, name, choices, default):
    """One of ``choices`` (case-insensitive) from ``env[name]``; ConfigError otherwise."""
    text = env.get(name, "").strip() or default
    for choice in choices:
        if text.lower() == choice.lower():
            return choice
    raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {text!r}")


def log_format(environ=None):
    """LOG_FORMAT of ``environ`` (``os.environ`` by default): "json" or "logfmt" (key=value),
    by default "json" in production (gunicorn's master reads it too, before any app exists)."""
    env = os.environ if environ is None else environ
    production = env.get("CROWDSOURCE_ENV", "development") == "production"
    return _choice(env, "LOG_FORMAT", LOG_FORMATS, "json" if production else "logfmt")


def from_environment(environ=None):
    """Return the settings read from ``environ`` (``os.environ`` by default)."""
    env = os.environ if environ is None else environ
    production = env.get("CROWDSOURCE_ENV", "development") == "production"
    secret_key = env.get("SECRET_KEY")
    if production and not secret_key:
        raise ConfigError("SECRET_KEY must be set when CROWDSOURCE_ENV=production")
    mail_server = env.get("MAIL_SERVER")
    mail_backend = env.get("MAIL_BACKEND") or ("smtp" if mail_server else "log")
    return {
        "CROWDSOURCE_ENV": "production" if production else "development",
        "SECRET_KEY": secret_key or DEV_SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL", "sqlite:///crowdsource.db"),
        "REDIS_URL": env.get("REDIS_URL") or None,
        # The prefix of the queues' names: <prefix>-payments, <prefix>-default, <prefix>-mail
        # (crowdsource.outbox.LANES); `flask worker` takes them in that order.
        "RQ_QUEUE": env.get("RQ_QUEUE", "crowdsource"),
        # Redis: connect and socket timeouts, and how long a process leaves Redis alone after
        # it failed (jobs wait in the outbox meanwhile).
        "REDIS_TIMEOUT_SECONDS": float(env.get("REDIS_TIMEOUT_SECONDS", "2")),
        "REDIS_RETRY_SECONDS": float(env.get("REDIS_RETRY_SECONDS", "10")),
        # Each app process relays waiting outbox rows after a response at most this often
        # (0 turns it off); workers relay every second.
        "OUTBOX_RELAY_SECONDS": float(env.get("OUTBOX_RELAY_SECONDS", "10")),
        # Workers: how often one of them looks for jobs whose worker died (they are retried),
        # and how long a job's heartbeat may be missing before it counts as abandoned.
        "RQ_MAINTENANCE_SECONDS": int(env.get("RQ_MAINTENANCE_SECONDS", "30")),
        "RQ_ABANDONED_SECONDS": int(env.get("RQ_ABANDONED_SECONDS", "45")),
        # Where users reach the site; links in mail sent by workers start with it.
        "PUBLIC_URL": env.get("PUBLIC_URL", "http://127.0.0.1:5000"),
        # Mail: written to the log until an SMTP server is configured.
        "MAIL_BACKEND": MAIL_BACKENDS.get(mail_backend, mail_backend),
        "MAIL_SERVER": mail_server or "localhost",
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD"),
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(env.get("MAIL_USE_SSL")),
        "MAIL_FILE_PATH": env.get("MAIL_FILE_PATH"),  # for MAIL_BACKEND=file
        "MAIL_TIMEOUT": int(env.get("MAIL_TIMEOUT", "10")),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "Crowdsource <noreply@localhost>"),
        "BABEL_DEFAULT_LOCALE": env.get("DEFAULT_LOCALE", "zh_CN"),
        "BABEL_DEFAULT_TIMEZONE": env.get("DEFAULT_TIMEZONE", "Asia/Shanghai"),
        # Uploads of later issues are at most 20 MB; leave room for the form around them.
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(25 * 1024 * 1024))),
        # Production sends the login cookies over HTTPS only; SESSION_COOKIE_SECURE=0 lets a
        # trial run on plain http (never for real users: the cookies could be read on the way).
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "PASSWORD_HASH_METHOD": env.get("PASSWORD_HASH_METHOD", "scrypt"),
        # Real-name verification (实名认证): only verified organizations publish tasks and only
        # verified payees (people and organizations) are paid out. On unless set to 0, also in
        # the embedded default, whose demo people are verified; 0 relaxes it for a trial.
        "REQUIRE_REAL_NAME_VERIFICATION": _bool(
            env.get("REQUIRE_REAL_NAME_VERIFICATION"), default=True
        ),
        # Agency brokerage (转化佣金) is capped at this rate, in basis points (3000 = 30 %).
        "MAX_BROKERAGE_BPS": int(env.get("MAX_BROKERAGE_BPS", "3000")),
        # Uploaded files: made absolute by upload_folder() (below) when the app is built.
        "UPLOAD_FOLDER": env.get("UPLOAD_FOLDER") or None,
        # A TrueType font with Chinese glyphs for contract PDFs; default: one fontconfig finds,
        # else reportlab's built-in STSong-Light (no file needed).
        "CONTRACT_PDF_FONT": env.get("CONTRACT_PDF_FONT") or None,
        # Payments: bank transfer (manual) unless another provider is configured.
        "PAYMENT_PROVIDER": env.get("PAYMENT_PROVIDER", "manual"),
        # Card payments and payouts through Stripe: on when both keys are set.
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY"),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET"),
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE"),  # default: Stripe's own API
        "STRIPE_TIMEOUT_SECONDS": int(env.get("STRIPE_TIMEOUT_SECONDS", "20")),
        # Days the winning side has to sign the contract it was offered.
        "OFFER_DAYS": int(env.get("OFFER_DAYS", "5")),
        "REVIEW_PERIOD_DAYS": int(env.get("REVIEW_PERIOD_DAYS", "14")),
        "DISPUTE_RESPONSE_DAYS": int(env.get("DISPUTE_RESPONSE_DAYS", "5")),
        "DISPUTE_APPEAL_DAYS": int(env.get("DISPUTE_APPEAL_DAYS", "7")),
        "DISPUTE_REVIEW_DAYS": int(env.get("DISPUTE_REVIEW_DAYS", "10")),
        "RATING_VISIBLE_DAYS": int(env.get("RATING_VISIBLE_DAYS", "14")),
        # A milestone's bank transfer is due this many days after the contract was signed (the
        # first) or the previous milestone was settled (each next); reminded this many before.
        "FUNDING_DAYS": int(env.get("FUNDING_DAYS", "7")),
        "FUNDING_REMINDER_DAYS": int(env.get("FUNDING_REMINDER_DAYS", "2")),
        "PLATFORM_BANK_NAME": env.get("PLATFORM_BANK_NAME", "中国工商银行青岛市南支行"),
        "PLATFORM_BANK_ACCOUNT_NAME": env.get(
            "PLATFORM_BANK_ACCOUNT_NAME", "山东众包创新服务平台资金托管专户"
        ),
        "PLATFORM_BANK_ACCOUNT_NUMBER": env.get(
            "PLATFORM_BANK_ACCOUNT_NUMBER", "3803 0201 0900 0123 456"
        ),
        # Deadlines are swept on access at most this often without a separate sweeper.
        "SWEEP_ON_ACCESS_SECONDS": int(env.get("SWEEP_ON_ACCESS_SECONDS", "30")),
        # How often `rq cron crowdsource.cron` enqueues the sweep (crowdsource/cron.py reads
        # the variable itself); while its sweeps run, requests leave the sweep to it.
        "SWEEP_INTERVAL_SECONDS": int(env.get("SWEEP_INTERVAL_SECONDS", "60")),
        # Open-data API: requests per client and window (0 turns the limit off).
        "API_RATE_LIMIT": int(env.get("API_RATE_LIMIT", "120")),
        "API_RATE_LIMIT_SECONDS": int(env.get("API_RATE_LIMIT_SECONDS", "60")),
        # Failed logins from one client address, any accounts, per LOGIN_THROTTLE_MINUTES
        # (0 turns this off; each account has its own limit besides, LOGIN_THROTTLE_FAILURES).
        "LOGIN_THROTTLE_CLIENT_FAILURES": int(env.get("LOGIN_THROTTLE_CLIENT_FAILURES", "30")),
        # Each account: tries within one run of failures (a success or a password reset ends
        # it) from one client address (LOGIN_THROTTLE_FAILURES, fixed), and a much higher
        # ceiling from all addresses together, per LOGIN_THROTTLE_MINUTES (0 turns it off).
        "LOGIN_THROTTLE_ACCOUNT_FAILURES": _count(env, "LOGIN_THROTTLE_ACCOUNT_FAILURES", 50),
        # Spraying: the accounts one client address fails to sign in to, per
        # LOGIN_THROTTLE_SPRAY_MINUTES (0 turns it off).
        "LOGIN_THROTTLE_SPRAY_ACCOUNTS": _count(env, "LOGIN_THROTTLE_SPRAY_ACCOUNTS", 10),
        "LOGIN_THROTTLE_SPRAY_MINUTES": _count(env, "LOGIN_THROTTLE_SPRAY_MINUTES", 60),
        # Where the rate limits count: Redis (default: REDIS_URL) or memory:// (one process).
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or None,
        # Content per account and per client address, in Flask-Limiter's notation ("5 per
        # minute; 30 per hour"; empty or 0: no limit): generous for people, fatal for scripts.
        **{name: env.get(name, default) for name, default in CONTENT_RATE_LIMITS.items()},
        # Notifications of one kind to one person: past this many within
        # NOTIFICATION_DIGEST_MINUTES, further ones are gathered into one digest (0: never).
        "NOTIFICATION_DIGEST_AFTER": _count(env, "NOTIFICATION_DIGEST_AFTER", 5),
        "NOTIFICATION_DIGEST_MINUTES": _count(env, "NOTIFICATION_DIGEST_MINUTES", 60),
        # Requests for a password-reset link from one client address per hour (0: no limit;
        # each account gets at most ACCOUNT_LINKS_PER_HOUR links besides).
        "RESET_REQUESTS_PER_CLIENT": int(env.get("RESET_REQUESTS_PER_CLIENT", "20")),
        # Trusted proxies in front of the app (nginx: 1). Their X-Forwarded-For, -Proto, -Host
        # and -Port headers then name the client and the address it used; with 0 they are
        # ignored, so a client cannot pass itself off as another by sending them.
        "PROXY_COUNT": _count(env, "PROXY_COUNT"),
        # One line per log record: "json" (the default in production) or "logfmt" (key=value).
        "LOG_FORMAT": log_format(env),
        "LOG_LEVEL": _choice(env, "LOG_LEVEL", LOG_LEVELS, "INFO"),
        # Statistics: the running month's summary is recomputed when older than this, and the
        # public tables are kept this long per process.
        "STATS_REFRESH_SECONDS": int(env.get("STATS_REFRESH_SECONDS", "60")),
        "STATS_CACHE_SECONDS": int(env.get("STATS_CACHE_SECONDS", "600")),
        # disclosure control of the public statistics (stats/disclosure.py): a shown cell has
        # at least this many distinct contributors of each kind, and passes the p % rule
        "STATS_MIN_CONTRIBUTORS": int(env.get("STATS_MIN_CONTRIBUTORS", "3")),
        "STATS_DOMINANCE_PERCENT": int(env.get("STATS_DOMINANCE_PERCENT", "10")),
    }


def upload_folder(value, instance_path, production=False):
    """The folder of uploaded files (task attachments, contract files) as an absolute path;
    app servers and workers all resolve it here, when the app is built.

    An absolute ``UPLOAD_FOLDER`` is used as it is; a relative one lies under the app's
    instance folder (``instance_path``), never under the process's working directory, which
    differs between a server and a worker; unset, it is ``<instance folder>/uploads``. In
    production every app server and worker must see the same files: ``UPLOAD_FOLDER`` must
    then be an absolute path (a volume they all mount), or the app refuses to start.
    """
    if production and not (value and os.path.isabs(value)):
        raise ConfigError(
            "UPLOAD_FOLDER must be an absolute path when CROWDSOURCE_ENV=production: the "
            f"folder that every app server and worker shares (got {value!r})"
        )
    return os.path.normpath(os.path.join(instance_path, value or "uploads"))


class BaseSettings:
    """Settings that do not depend on the environment."""

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION_DAYS = 30
    BOOTSTRAP_SERVE_LOCAL = True
    BABEL_TRANSLATION_DIRECTORIES = "translations"
    LANGUAGES = ("zh_CN", "en")
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    LOGIN_THROTTLE_FAILURES = 5
    LOGIN_THROTTLE_MINUTES = 15
    #: managers of centers and the admin must sign in with a second factor (TOTP)
    TWO_FACTOR_FOR_STAFF = True
    #: wrong second-factor codes of one account per 15 minutes before it must wait
    TWO_FACTOR_TRIES = 5
    #: how long the second step of a sign-in waits for its code after the password
    TWO_FACTOR_PENDING_MINUTES = 5
    #: a session without "remember me" ends after this long without a request
    SESSION_IDLE_HOURS = 12
    #: how long a mailed link to set a new password works, and one to verify an address
    PASSWORD_RESET_MINUTES = 60
    EMAIL_VERIFICATION_HOURS = 72
    #: links of one purpose mailed to one account per hour (a reset, a verification again)
    ACCOUNT_LINKS_PER_HOUR = 5
