"""Jinja2 pages: one environment, and ``render`` that gives every page what the layout needs
(the signed-in user, the CSRF token for its forms, a one-off notice)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from servicetrade_spectrum import __version__
from servicetrade_spectrum.domain import FailureKind
from servicetrade_spectrum.web._auth import NOTICE_COOKIE, SignedIn, read_notice

__all__ = ["render", "templates"]

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
templates.env.globals["version"] = __version__
templates.env.globals["failure_kinds"] = list(FailureKind)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def _failure_label(kind: str) -> str:
    try:
        return FailureKind(kind).label
    except ValueError:
        return kind


templates.env.filters["when"] = _when
templates.env.filters["failure_label"] = _failure_label


def render(request: Request, name: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200) -> HTMLResponse:
    viewer: SignedIn | None = getattr(request.state, "signed_in", None)
    notice = read_notice(request, viewer) if viewer is not None else ""
    page: dict[str, Any] = {"viewer": viewer, "user": viewer.user if viewer else None,
                            "csrf_token": viewer.csrf_token if viewer else "",
                            "notice": notice, **(context or {})}
    response = templates.TemplateResponse(request, name, page, status_code=status_code)
    if NOTICE_COOKIE in request.cookies:
        response.delete_cookie(NOTICE_COOKIE, path="/")  # shown once
    return response
