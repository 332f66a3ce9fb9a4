"""The web app (FastAPI + Jinja2): pages, the REST API, and the ServiceTrade webhook intake."""

from servicetrade_spectrum.web._app import create_app
from servicetrade_spectrum.web._services import WebServices

__all__ = ["WebServices", "create_app"]
