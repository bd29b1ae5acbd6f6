"""What every browser test uses (docs/contract.md §9: pages are tested in a real browser): the
distribution's Chromium, an app served on a local port, signing in with a key, axe-core's serious
findings, and the README's screenshots. The `browser` and `page` fixtures are in conftest.py.

Importing this module skips the importing test module when Playwright or axe is not installed; CI
installs Chromium (.ci/run), so there a missing browser fails instead of skipping.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

playwright = pytest.importorskip("playwright.sync_api")
axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")
from werkzeug.serving import make_server  # noqa: E402  (after the skips: only these tests need a server)

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                    reason="the distribution's Chromium (apt-get install chromium)")


@contextmanager
def served(app: Any) -> Iterator[str]:
    """The app on a free local port for as long as the block runs; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def sign_in(page: Any, site: dict[str, Any], key: str, path: str = "/console/") -> None:
    page.goto(site["base"] + path)
    page.get_by_label("Clave de API").fill(site["keys"][key])
    page.get_by_role("button", name="Entrar").click()


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands (WCAG 2.2 AA and best practice)."""
    results = axe_playwright.Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")]


def keep_screenshot(page: Any, path: Path, height: int, scroll_to: str | None = None) -> None:
    """A README picture of the page's top `height` pixels, taken once (committed) or again with
    POLICY_SERVICE_SCREENSHOTS=1."""
    if path.exists() and not os.environ.get("POLICY_SERVICE_SCREENSHOTS"):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if scroll_to:
        page.locator(scroll_to).scroll_into_view_if_needed()
    page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": 1100, "height": height})
