"""``/users`` (admins): who may sign in to the account's web app; add a user, give or take
the admin role.

Only the signed-in admin's account is ever listed or changed: another account's user
answers 404 like one that does not exist. An admin cannot take their own admin role away,
so an account is never left without someone who can manage it by mistake.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from servicetrade_spectrum.store._users import (
    MIN_PASSWORD_LENGTH,
    new_user_problems,
    normalize_email,
)
from servicetrade_spectrum.web._auth import Admin, AdminForm, SignedIn, services_of, set_notice
from servicetrade_spectrum.web._errors import PageProblem
from servicetrade_spectrum.web._templates import render
from servicetrade_spectrum.web.pages._forms import checked, text

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


async def _page(request: Request, viewer: SignedIn, *, email: str = "", is_admin: bool = False,
                errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    store = services_of(request).store
    users = await run_in_threadpool(store.users.of_account, viewer.account_id)
    return render(request, "users.html", {
        "nav": "users", "users": users, "email": email, "is_admin": is_admin,
        "errors": errors or {}, "min_password": MIN_PASSWORD_LENGTH,
    }, status_code=status_code)


@router.get("/users")
async def users_page(request: Request, viewer: Admin) -> Response:
    return await _page(request, viewer)


@router.post("/users")
async def add_user(request: Request, viewer: AdminForm) -> Response:
    form = await request.form()
    email, password = normalize_email(text(form, "email")), text(form, "password")
    is_admin = checked(form, "is_admin")
    errors = new_user_problems(email, password)
    if not errors:
        store = services_of(request).store
        try:
            added = await run_in_threadpool(lambda: store.users.add(
                email, account_id=viewer.account_id, password=password, is_admin=is_admin))
        except ValueError as exc:  # the email is taken (emails are sign-in names: unique)
            errors["email"] = f"{exc} Each person signs in with their own email: use another."
        else:
            role = "an admin" if added.is_admin else "a user"
            response = RedirectResponse("/users", status_code=303)
            set_notice(response, request, viewer, f"{added.email} added as {role} of "
                                         f"{viewer.user.account_name}: give them their password "
                                         "to sign in.")
            return response
    return await _page(request, viewer, email=email, is_admin=is_admin, errors=errors,
                       status_code=422)


@router.post("/users/{user_id}/admin")
async def set_admin(request: Request, viewer: AdminForm, user_id: int) -> Response:
    make_admin = checked(await request.form(), "admin")
    if user_id == viewer.user.id and not make_admin:
        raise PageProblem(400, "You cannot remove your own admin role (the account would risk "
                               "having no admin): ask another admin to do it.")
    store = services_of(request).store
    changed = await run_in_threadpool(store.users.set_admin, viewer.account_id, user_id,
                                      make_admin)
    if changed is None:
        raise PageProblem(404, f"No user with ID {user_id} in this account: reload the users "
                               "page.")
    response = RedirectResponse("/users", status_code=303)
    set_notice(response, request, viewer, f"{changed.email} is now "
                                 f"{'an admin' if changed.is_admin else 'a user (not an admin)'}.")
    return response
