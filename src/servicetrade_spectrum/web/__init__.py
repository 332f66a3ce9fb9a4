"""The web app (FastAPI): webhook intake, and later the pages and the REST API."""

from servicetrade_spectrum.web._app import create_app

__all__ = ["create_app"]
