"""Sign-in, sign-out, CSRF and the sign-in rate limit, over real HTTP."""

from __future__ import annotations

from .conftest import ADMIN, OFFICE, PASSWORD, WebEnvironment, csrf_token


def test_pages_need_a_signed_in_user(web_env: WebEnvironment) -> None:
    anonymous = web_env.client(None)
    answer = anonymous.get("/jobs?status=scheduled")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fjobs%3Fstatus%3Dscheduled"


def test_sign_in_sets_an_http_only_session_cookie_and_returns_to_the_page(
        web_env: WebEnvironment) -> None:
    client = web_env.client(None)
    form = client.get("/login?next=/history")
    answer = client.post("/login", data={"email": ADMIN.upper(), "password": PASSWORD,
                                         "csrf_token": csrf_token(form.text),
                                         "next": "/history"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/history"
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("st_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie


def test_sign_in_never_redirects_to_another_site(web_env: WebEnvironment) -> None:
    client = web_env.client(None)
    form = client.get("/login")
    answer = client.post("/login", data={"email": ADMIN, "password": PASSWORD,
                                         "csrf_token": csrf_token(form.text),
                                         "next": "//evil.example/steal"})
    assert answer.headers["location"] == "/jobs"


def test_a_wrong_password_says_so_and_signs_nobody_in(web_env: WebEnvironment) -> None:
    client = web_env.client(None)
    form = client.get("/login")
    answer = client.post("/login", data={"email": OFFICE, "password": "wrong password!",
                                         "csrf_token": csrf_token(form.text)})
    assert answer.status_code == 401
    assert "do not match" in answer.text
    assert "st_session" not in client.cookies


def test_sign_in_without_the_form_token_is_refused(web_env: WebEnvironment) -> None:
    client = web_env.client(None)
    answer = client.post("/login", data={"email": ADMIN, "password": PASSWORD})
    assert answer.status_code == 403
    assert "st_session" not in client.cookies


def test_a_form_post_without_the_csrf_token_is_refused(web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    answer = client.post("/logout", data={})
    assert answer.status_code == 403
    assert "reload the page" in answer.text
    assert client.get("/jobs").status_code != 303  # still signed in


def test_sign_out_ends_the_session_on_the_server(web_env: WebEnvironment) -> None:
    client = web_env.client(ADMIN)
    stolen = client.cookies["st_session"]
    answer = web_env.post_form(client, "/jobs", "/logout", {})
    assert answer.status_code == 303
    replay = web_env.client(None)
    replay.cookies.set("st_session", stolen)
    assert replay.get("/jobs").status_code == 303


def test_repeated_wrong_passwords_are_rate_limited(web_env: WebEnvironment) -> None:
    email = "limited@northwind.example"
    web_env.store.users.add(email, account_id=web_env.store.account("Northwind").id,
                            password=PASSWORD)
    client = web_env.client(None)
    statuses = []
    for _ in range(6):
        form = client.get("/login")
        statuses.append(client.post("/login", data={
            "email": email, "password": "not the password",
            "csrf_token": csrf_token(form.text)}).status_code)
    assert statuses == [401] * 5 + [429]
    form = client.get("/login")
    right = client.post("/login", data={"email": email, "password": PASSWORD,
                                        "csrf_token": csrf_token(form.text)})
    assert right.status_code == 429  # even the right password waits out the lock
    assert "try again in" in right.text


def test_session_and_api_tokens_are_not_stored_in_the_clear(web_env: WebEnvironment) -> None:
    from sqlalchemy import text

    client = web_env.client(ADMIN)
    session_token = client.cookies["st_session"]
    api_token = web_env.store.users.create_token(web_env.store.users.by_email(ADMIN).id)
    with web_env.store.engine.connect() as connection:
        rows = [str(r) for table in ("web_sessions", "api_tokens", "users")
                for r in connection.execute(text(f"SELECT * FROM {table}"))]  # noqa: S608
    dump = "\n".join(rows)
    assert session_token not in dump
    assert api_token not in dump
    assert PASSWORD not in dump


def test_a_sign_in_link_works_once(web_env: WebEnvironment) -> None:
    user = web_env.store.users.by_email(OFFICE)
    assert user is not None
    token = web_env.store.users.create_sign_in_link(user.id)
    client = web_env.client(None)
    first = client.get(f"/login/link/{token}")
    assert first.status_code == 303
    assert client.get("/jobs").status_code == 200
    again = web_env.client(None).get(f"/login/link/{token}")
    assert again.status_code == 401
    assert "expired or was used already" in again.text


def test_every_cookie_is_secure_when_the_request_came_over_https(
        web_env: WebEnvironment) -> None:
    # A TLS proxy on this host says so with X-Forwarded-Proto (uvicorn trusts 127.0.0.1).
    client = web_env.client(None)
    client.headers["X-Forwarded-Proto"] = "https"
    form = client.get("/login")
    login_cookie = next(h for h in form.headers.get_list("set-cookie")
                        if h.startswith("st_login_csrf="))
    assert "Secure" in login_cookie
    assert "HttpOnly" in login_cookie
    # httpx keeps Secure cookies from plain-HTTP requests: send it as a browser behind TLS would.
    answer = client.post("/login", data={"email": ADMIN, "password": PASSWORD,
                                         "csrf_token": csrf_token(form.text)},
                         headers={"Cookie": f"st_login_csrf={form.cookies['st_login_csrf']}"})
    session_cookie = next(h for h in answer.headers.get_list("set-cookie")
                          if h.startswith("st_session="))
    assert "Secure" in session_cookie
    plain = web_env.client(None).get("/login")
    assert all("Secure" not in h for h in plain.headers.get_list("set-cookie"))
