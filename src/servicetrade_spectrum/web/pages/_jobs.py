"""(to be written: the jobs list and the job page)"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from servicetrade_spectrum.web._auth import Viewer
from servicetrade_spectrum.web._templates import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/jobs")
async def jobs(request: Request, viewer: Viewer) -> Response:
    return render(request, "error.html", {"title": "Jobs", "message": "(placeholder)"})
