"""The REST API, ``/api/v1``: jobs (send, preview), attempts, connections and mappings.

Authenticated by personal API tokens (see ``web._auth``); the same account isolation and
roles as the pages. Errors are ``{"error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]


def router() -> APIRouter:
    from servicetrade_spectrum.web.api import _attempts, _connections, _jobs, _mappings

    combined = APIRouter()
    for part in (_jobs.router, _attempts.router, _connections.router, _mappings.router):
        combined.include_router(part)
    return combined
