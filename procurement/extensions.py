"""Flask extensions, created unbound here and initialised in create_app()."""

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

from procurement.core.db import db

migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()

__all__ = ["babel", "csrf", "db", "login_manager", "migrate"]
