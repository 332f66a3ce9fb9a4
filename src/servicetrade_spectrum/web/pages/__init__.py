"""The pages: one router per area (sign-in, jobs, history, connections, users, mappings)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["routers"]


def routers() -> list[APIRouter]:
    from servicetrade_spectrum.web.pages import (
        _connections,
        _history,
        _jobs,
        _login,
        _mappings,
        _users,
    )

    return [_login.router, _jobs.router, _history.router, _connections.router,
            _users.router, _mappings.router]
