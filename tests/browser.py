"""Helpers for the dashboard's browser tests: Debian's Chromium driven by Playwright, and the site under test."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from tests.helpers import ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
# the four ways the dashboard is checked: laptop and phone, French and English
VIEWS = {"desktop-fr": (DESKTOP, "fr"), "desktop-en": (DESKTOP, "en"), "phone-fr": (PHONE, "fr"), "phone-en": (PHONE, "en")}
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
    # the voice tests: a fake microphone (a beep), loopback ICE candidates, raw IPs instead of mDNS names (no
    # multicast), and audio that plays without a click
    "--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns", "--autoplay-policy=no-user-gesture-required",
]


class Site:
    """The dev server (public/ + every function) on loopback, with the settings a test gives it."""

    def __init__(self, env):
        from dev.server import DevServer

        self.server = DevServer(("127.0.0.1", 0))  # reads vercel.json's headers with the env already set
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def open_dashboard(page, site: Site):
    page.goto(site.url)
    page.locator("body[data-ready=true]").wait_for(timeout=10_000)
    return page


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), animations="disabled")
    return path
