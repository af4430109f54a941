"""YouTube authorisation: Google's OAuth protocol against a token endpoint on 127.0.0.1."""

from __future__ import annotations

import json
import stat
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from engine.config import load_settings
from engine.youtube import (
    SCOPES,
    AuthError,
    authorised_file,
    authorize,
    credentials_file,
    load_credentials,
)


class TokenEndpoint:
    """Answers the OAuth token endpoint: codes and refresh tokens in, access tokens out (or invalid_grant)."""

    def __init__(self) -> None:
        self.grants: list[dict[str, str]] = []
        self.revoked = False
        self.revoked_tokens: set[str] = set()  # refresh tokens refused, one channel's and not another's
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
                endpoint.grants.append(form)
                if endpoint.revoked or form.get("refresh_token") in endpoint.revoked_tokens:
                    status, body = 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
                else:
                    status, body = 200, {"access_token": f"ya29.access-{len(endpoint.grants)}", "expires_in": 3599,
                                         "refresh_token": "1//refresh-secret", "scope": " ".join(SCOPES),
                                         "token_type": "Bearer"}
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def endpoint(monkeypatch):
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the test's endpoint speaks plain HTTP on 127.0.0.1
    server = TokenEndpoint()
    yield server
    server.server.shutdown()


def test_console_consent_keeps_owner_only_credentials_which_refresh_and_report_revocation(tmp_path: Path, endpoint):
    secrets = tmp_path / "client_secret.json"
    secrets.write_text(json.dumps({"installed": {
        "client_id": "123.apps.googleusercontent.com", "client_secret": "client-secret-value",
        "auth_uri": f"{endpoint.url}/auth", "token_uri": f"{endpoint.url}/token", "redirect_uris": ["http://localhost"]}}))
    settings = load_settings(data_dir=tmp_path / "data", youtube_client_secrets=secrets,
                             google_token_uri=f"{endpoint.url}/token")
    prompts: list[str] = []

    def browser(prompt: str) -> str:  # the user opens the link, consents, and pastes where the browser landed
        prompts.append(prompt)
        state = parse_qs(urlsplit(prompt.split("\n")[1]).query)["state"][0]
        return f"http://localhost:1/?state={state}&code=4/consent-code&scope={' '.join(SCOPES)}"

    path = authorize(settings, console=True, ask=browser)
    assert datetime.fromisoformat(authorised_file(settings).read_text()) > datetime.now(timezone.utc) - timedelta(hours=1)
    link = parse_qs(urlsplit(prompts[0].split("\n")[1]).query)
    assert link["access_type"] == ["offline"] and set(link["scope"][0].split()) == set(SCOPES)
    assert endpoint.grants[0]["grant_type"] == "authorization_code" and endpoint.grants[0]["code"] == "4/consent-code"
    assert path == credentials_file(settings) and stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert saved["refresh_token"] == "1//refresh-secret" and saved["token"] == "ya29.access-1"

    saved["expiry"] = "2020-01-01T00:00:00Z"  # the access token has expired since
    path.write_text(json.dumps(saved))
    credentials = load_credentials(settings)
    assert credentials.token == "ya29.access-2" and endpoint.grants[1]["grant_type"] == "refresh_token"
    assert json.loads(path.read_text())["token"] == "ya29.access-2" and stat.S_IMODE(path.stat().st_mode) == 0o600

    saved = json.loads(path.read_text())
    saved["expiry"] = "2020-01-01T00:00:00Z"
    path.write_text(json.dumps(saved))
    endpoint.revoked = True  # the user removed the app's access in their Google account
    with pytest.raises(AuthError, match="revoked or has expired: run `videofactory youtube auth` again") as caught:
        load_credentials(settings)
    assert "refresh-secret" not in str(caught.value) and "client-secret-value" not in str(caught.value)


def test_no_client_file_or_no_authorisation_is_one_clear_line(tmp_path: Path):
    settings = load_settings(data_dir=tmp_path / "data")
    with pytest.raises(Exception, match="VF_YOUTUBE_CLIENT_SECRETS is not set"):
        authorize(settings, console=True, ask=lambda prompt: "")
    with pytest.raises(AuthError, match="not authorised yet: run `videofactory youtube auth`"):
        load_credentials(settings)


def test_a_channel_keeps_its_own_credentials_from_its_own_client_and_is_read_back(tmp_path: Path, endpoint):
    from engine.youtube import YouTube
    from tests.youtube_http import RecordingSequence

    secrets = tmp_path / "crime-project.json"  # the channel's own Google Cloud project
    secrets.write_text(json.dumps({"installed": {
        "client_id": "456.apps.googleusercontent.com", "client_secret": "crime-secret",
        "auth_uri": f"{endpoint.url}/auth", "token_uri": f"{endpoint.url}/token", "redirect_uris": ["http://localhost"]}}))
    settings = load_settings(data_dir=tmp_path / "data", google_token_uri=f"{endpoint.url}/token")

    def browser(prompt: str) -> str:
        state = parse_qs(urlsplit(prompt.split("\n")[1]).query)["state"][0]
        return f"http://localhost:1/?state={state}&code=4/crime-code&scope={' '.join(SCOPES)}"

    path = authorize(settings, console=True, ask=browser, channel="crime", client_secrets=secrets)
    assert path == credentials_file(settings, "crime") != credentials_file(settings)
    assert json.loads(path.read_text())["client_id"] == "456.apps.googleusercontent.com"
    assert load_credentials(settings, "crime").token.startswith("ya29.")
    http = RecordingSequence([({"status": "200"}, json.dumps(
        {"items": [{"id": "UC-crime", "snippet": {"title": "Cold Cases"}}]}))])
    assert YouTube.connect(settings, http=http).own_channel() == ("UC-crime", "Cold Cases")
    assert "/youtube/v3/channels?" in http.sent[0][1] and "mine=true" in http.sent[0][1]
    with pytest.raises(AuthError, match="youtube auth --channel history"):
        load_credentials(settings, "history")


def test_a_refusal_about_a_week_after_authorising_names_the_testing_app_as_the_likely_cause(tmp_path: Path, endpoint):
    """Y5: Google answers invalid_grant for a Testing app's 7-day token as for a revoked one: say which is likely."""
    settings = load_settings(data_dir=tmp_path / "data", google_token_uri=f"{endpoint.url}/token")
    path = credentials_file(settings)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"client_id": "123.apps", "client_secret": "s", "refresh_token": "1//r", "token": "old",
                                "expiry": "2020-01-01T00:00:00Z", "scopes": list(SCOPES)}))
    endpoint.revoked = True
    given = authorised_file(settings)
    for days, testing in ((2, False), (7, True), (30, False)):
        given.write_text((datetime.now(timezone.utc) - timedelta(days=days, hours=1)).isoformat())
        with pytest.raises(AuthError) as caught:
            load_credentials(settings)
        assert ("Testing" in str(caught.value) and "Publish app" in str(caught.value)) == testing
        assert "run `videofactory youtube auth` again" in str(caught.value)
