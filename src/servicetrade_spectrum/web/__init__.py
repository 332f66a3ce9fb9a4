"""The web app (FastAPI): webhook intake, and later the pages and the REST API."""

from servicetrade_spectrum.web._app import create_app
from servicetrade_spectrum.web._hooks import secret_digest

__all__ = ["create_app", "secret_digest"]
