"""The API's /docs page in headless Chromium: Swagger UI 5 (openapi-ui-bundles,
served from the app, no CDN) renders the OpenAPI 3.1 document: its operations
are listed, no "Unable to render this definition", no CSP violation."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..conftest import dispose_app_engine
from ..live_servers import serving

pytestmark = pytest.mark.browser


@pytest.fixture
def api_url(api_settings):
    import api_app

    app = api_app.main({}, **api_settings)
    try:
        with serving(app) as url:
            yield url
    finally:
        dispose_app_engine(app)


def test_the_docs_page_renders_the_openapi_3_1_document(chromium, api_url):
    context = chromium.new_context(base_url=api_url, locale="en-IN")
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text)
                if "Content Security Policy" in m.text else None)
        page.on("request", lambda r: problems.append(r.url)
                if not r.url.startswith(api_url) else None)  # nothing from a CDN
        page.goto("/docs")
        transfers = page.locator(".opblock-post", has=page.locator(
            ".opblock-summary-path[data-path='/v1/transfers']"))
        expect(transfers.first).to_be_visible(timeout=20_000)
        expect(transfers.first.locator(".opblock-summary-method")).to_have_text("POST")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("3.1")
        assert "Unable to render" not in page.locator("body").inner_text()
        assert page.locator(".opblock").count() > 20  # every operation, not one
        # An operation opens: its request body schema is shown.
        transfers.first.locator(".opblock-summary").click()
        expect(transfers.first.locator(".opblock-body")).to_contain_text("amount_paise")
    finally:
        context.close()  # its connections, before the server stops
    assert problems == []
