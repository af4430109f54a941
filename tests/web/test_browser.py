"""The dashboard in a real headless Chromium (Debian's), driven by Playwright: log in, charts, a job made and played.

Playwright cannot download its own browser here, so it drives Debian's `chromium` by its path.
Screenshots of each page go to test-artifacts/screenshots (VF_TEST_ARTIFACTS to put them elsewhere).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from engine.config import load_settings
from tests.web.conftest import serve_in_thread
from web.app import build_services, create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("VF_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
SCRIPT = ("The lighthouse keeper climbed the stairs every evening to light the lamp.\n\n"
          "Ships far out at sea saw the beam and steered away from the rocks.")
USER = 1001

if CHROMIUM is None and os.environ.get("VF_CI"):
    raise RuntimeError("CI must have chromium: .ci/run installs Debian's package")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (CI installs it)")


@pytest.fixture
def dashboard(tmp_path: Path):
    """The dashboard served by uvicorn on a free port, with the real in-process runner."""
    settings = load_settings(data_dir=tmp_path / "data", output_dir=tmp_path / "output", telegram_admins=str(USER))
    services = build_services(settings)
    services.runner.start()
    running = serve_in_thread(create_app(services), settings)
    yield services, running.url, tmp_path
    running.stop()
    services.runner.shutdown()


def _shot(page, name: str) -> None:
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "screenshots" / f"{name}.png"), full_page=True)


def test_log_in_make_a_video_watch_it_finish_and_play_it(dashboard):
    from playwright.sync_api import sync_playwright

    services, url, tmp_path = dashboard
    script = tmp_path / "keeper.txt"
    script.write_text(SCRIPT)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/login/{services.logins.issue(USER, admin=True)}")
        assert page.url == f"{url}/"
        page.goto(f"{url}/make")
        _shot(page, "make")
        page.fill("#topic", "The Keeper")
        page.select_option("#preset", "science")
        page.set_input_files("#script_file", str(script))
        page.click("#make")
        page.wait_for_url(f"{url}/jobs/*")
        page.evaluate("window.loadedOnce = true")  # gone if the page reloads
        seen = set()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and page.get_attribute("[data-job]", "data-state") != "done":
            seen.add((page.inner_text("[data-job] .state"), page.inner_text("[data-job] .share")))
            time.sleep(0.2)
        assert page.inner_text("[data-job] .share") == "100%" and page.inner_text("[data-job] .state") == "done"
        assert page.evaluate("window.loadedOnce === true")  # the progress came without a reload
        assert any(state == "running" for state, _ in seen)
        page.wait_for_selector("#video")
        assert page.locator(".actions").count() == 0  # nothing left to cancel
        playing = page.evaluate("""async () => {
            const video = document.getElementById("video");
            video.muted = true;
            await video.play();
            await new Promise(done => setTimeout(done, 1500));
            return {time: video.currentTime, width: video.videoWidth, duration: video.duration};
        }""")
        assert playing["time"] > 0.3 and playing["width"] >= 1080 and playing["duration"] > 5  # decoded and running
        _shot(page, "job")
        page.goto(f"{url}/?days=7")
        page.wait_for_selector("#chart-days .main-svg")
        assert page.locator("#chart-days .bars .point").count() >= 1  # a bar drawn for today's video
        assert page.locator("#chart-stages .bars .point").count() >= 5
        _shot(page, "overview")
        for name in ("jobs", "abtests", "tokens"):
            page.goto(f"{url}/{name}")
            _shot(page, name)
        browser.close()
