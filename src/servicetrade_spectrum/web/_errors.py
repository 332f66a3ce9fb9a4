"""What a page or an API call answers when it cannot do what was asked.

    PageProblem      a page's error: rendered as a page with the status and the message
    SignInRequired   a page needs a signed-in user: redirect to /login?next=...
    ApiProblem       an API error: JSON ``{"error": {"code": ..., "message": ...}}``

A store ``NotFound`` raised anywhere answers 404 (a page, or JSON under ``/api/``): records of
other accounts are looked up as absent, so they answer exactly like missing ones.
"""

from __future__ import annotations

__all__ = ["ApiProblem", "PageProblem", "SignInRequired"]


class PageProblem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SignInRequired(Exception):
    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class ApiProblem(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
