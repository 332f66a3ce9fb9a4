"""The web application: webhook intake now; pages and the REST API grow here."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from servicetrade_spectrum import __version__
from servicetrade_spectrum.store import Store
from servicetrade_spectrum.web._hooks import hooks_router

__all__ = ["create_app"]


def create_app(store: Store, *, wake: Callable[[], None] = lambda: None) -> FastAPI:
    app = FastAPI(title="st-spectrum", version=__version__, docs_url="/docs",
                  redoc_url=None)
    app.include_router(hooks_router(store, wake))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
