"""Nothing without logging in: one-time links, the admin password, CSRF on every form."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.store import utcnow
from tests.web.conftest import PASSWORD, USER, csrf, log_in

PAGES = ["/", "/jobs", "/jobs/1", "/make", "/abtests", "/abtests/1", "/tokens", "/jobs/1/files/video.mp4"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_sends_a_visitor_without_a_session_to_log_in(client, path):
    answer = client.get(path)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"


def test_actions_and_progress_are_refused_without_a_session(client):
    assert client.get("/jobs/progress.json?ids=1").status_code == 401
    token = csrf(client)
    for action in ("/make", "/jobs/1/cancel", "/jobs/1/retry"):
        answer = client.post(action, data={"csrf": token})
        assert answer.status_code == 303 and answer.headers["location"] == "/login"


def test_a_login_link_works_once(client, services):
    secret = services.logins.issue(USER, admin=False)
    first = client.get(f"/login/{secret}")
    assert first.status_code == 303 and client.get("/").status_code == 200
    client.cookies.clear()
    again = client.get(f"/login/{secret}")
    assert again.status_code == 403 and "used already or has expired" in again.text
    assert client.get("/").status_code == 303  # still no session


def test_an_expired_or_made_up_link_is_refused(client, services):
    old = services.logins.issue(USER, admin=False, now=utcnow() - timedelta(minutes=11))
    assert client.get(f"/login/{old}").status_code == 403
    assert client.get("/login/not-a-link-at-all").status_code == 403
    assert client.get("/").status_code == 303


def test_the_password_logs_in_as_admin_and_a_wrong_one_does_not(client, services, monkeypatch):
    monkeypatch.setattr("web.auth.WRONG_PASSWORD_PAUSE", 0)
    wrong = client.post("/login", data={"password": "guess", "csrf": csrf(client)})
    assert wrong.status_code == 403 and "not right" in wrong.text and PASSWORD not in wrong.text
    log_in(client, services, None)
    assert "Tokens" in client.get("/").text  # the admins' page is in the menu


def test_a_form_without_its_csrf_token_is_refused(client, services):
    log_in(client, services, USER)
    answer = client.post("/logout", data={"csrf": "forged"})
    assert answer.status_code == 403 and "not sent from this site" in answer.text
    assert client.get("/").status_code == 200  # still logged in
    assert client.post("/logout", data={"csrf": csrf(client, "/")}).status_code == 303
    assert client.get("/").status_code == 303


def test_the_session_cookie_is_secure_and_http_only_behind_https(client, services):
    answer = client.get(f"/login/{services.logins.issue(USER, admin=False)}")
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
