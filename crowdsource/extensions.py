"""Extension objects, created unbound and initialised by create_app()."""

from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_compress import Compress
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from crowdsource.db import db

__all__ = ["babel", "bootstrap", "compress", "csrf", "db", "login_manager", "mailman", "migrate"]

babel = Babel()
bootstrap = Bootstrap5()
compress = Compress()
csrf = CSRFProtect()
login_manager = LoginManager()
mailman = Mail()
migrate = Migrate()
