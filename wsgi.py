"""The WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""

from crowdsource import create_app

app = create_app()
