"""`/docs` in a real browser (Debian's Chromium): Swagger UI renders every operation from the
gateway's own files, under the gateway's Content-Security-Policy, loading nothing remote."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.app import create_app
from serving.settings import GatewaySettings
from tests.integration.conftest import running_gateway
from tests.serving.corpus_slice import SliceRetriever

pytestmark = pytest.mark.integration

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def test_swagger_ui_renders_from_local_assets_under_the_csp():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (make setup-browser)")
    app = create_app(GatewaySettings(_env_file=None), retriever=SliceRetriever())  # type: ignore[call-arg]
    with running_gateway(app) as url, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            requests: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"{url}/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            assert any("/v1/ask" in p for p in paths) and any("/v1/search" in p for p in paths)
            # open an operation and try it: parameters, schemas and highlighted examples render
            page.locator(".opblock-summary", has_text="/v1/search").first.click()
            page.get_by_role("button", name="Try it out").click()
            page.wait_for_selector(".opblock-body .body-param", timeout=10_000)
            page.locator(".responses-wrapper .highlight-code").first.wait_for(timeout=10_000)
            page.get_by_role("button", name="Execute").click()  # the gateway's answer, shown
            page.locator(".live-responses-table").first.wait_for(timeout=10_000)
            assert not errors, errors  # a CSP violation is reported as a console error
            assert all(r.startswith((url, "data:")) for r in requests), requests
        finally:
            browser.close()
