"""Fast checks of the web client's static files (the browser tests are in tests/integration).

The page must work under a strict Content-Security-Policy (no inline script, style or event
handler), never turn server text into HTML, label every control, and reference only files
that exist; the gateway must serve it at `/` with JavaScript MIME types for the modules.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.serving.conftest import make_client

pytestmark = pytest.mark.unit

WEB = Path(__file__).resolve().parents[2] / "serving" / "web"
JS = sorted((WEB / "js").glob("*.js"))


class Page(HTMLParser):
    """The elements of index.html as (tag, attrs) and the text of its <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_text.append(data)


@pytest.fixture(scope="module")
def page() -> Page:
    parser = Page()
    parser.feed((WEB / "index.html").read_text(encoding="utf-8"))
    return parser


def test_page_is_csp_strict(page: Page) -> None:
    assert page.script_text == [], "inline script"
    for tag, attrs in page.elements:
        assert tag != "style", "inline <style>"
        assert "style" not in attrs, f"style attribute on <{tag}>"
        handlers = [a for a in attrs if a.startswith("on")]
        assert not handlers, f"inline event handler {handlers} on <{tag}>"
    csp = [
        a.get("content") or ""
        for t, a in page.elements
        if t == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"
    ]
    assert len(csp) == 1
    assert "script-src 'self'" in csp[0] and "unsafe-inline" not in csp[0]
    assert "default-src 'none'" in csp[0]


def test_page_has_landmarks_labels_and_a_live_region(page: Page) -> None:
    tags = [t for t, _ in page.elements]
    for landmark in ("header", "main", "aside", "footer"):
        assert landmark in tags, landmark
    labelled = {a.get("for") for t, a in page.elements if t == "label"}
    for tag, attrs in page.elements:
        if tag in ("input", "select", "textarea") and attrs.get("type") != "radio":
            assert attrs.get("id") in labelled, f"<{tag} id={attrs.get('id')}> has no label"
    by_id = {a.get("id"): a for _, a in page.elements if a.get("id")}
    assert by_id["answer"].get("aria-live") == "polite"
    assert by_id["status"].get("role") == "status"
    assert by_id["alert"].get("role") == "alert"
    assert [a.get("lang") for t, a in page.elements if t == "html"] == ["en"]


def test_scripts_never_parse_server_text_as_html() -> None:
    forbidden = re.compile(
        r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\("
        r"|createContextualFragment|DOMParser"
    )
    for path in JS:
        hits = forbidden.findall(path.read_text(encoding="utf-8"))
        assert not hits, f"{path.name}: {hits}"


def test_every_reference_resolves(page: Page) -> None:
    for tag, attrs in page.elements:
        ref = attrs.get("src") if tag == "script" else attrs.get("href") if tag == "link" else None
        if ref and not ref.startswith("data:"):
            assert (WEB / ref).is_file(), ref
    ids = {a.get("id") for _, a in page.elements if a.get("id")}
    for path in JS:
        text = path.read_text(encoding="utf-8")
        for module in re.findall(r'from\s+"(\./[^"]+)"', text):
            assert (path.parent / module).is_file(), f"{path.name} imports {module}"
        for element_id in re.findall(r'(?:byId|\$)\("([a-z][\w-]*)"\)', text):
            assert element_id in ids, f"{path.name} uses #{element_id}, not in index.html"


def test_gateway_serves_the_client_at_root(retriever) -> None:
    with make_client(retriever, web_dir=WEB) as client:
        index = client.get("/")
        assert index.status_code == 200 and "text/html" in index.headers["content-type"]
        assert 'src="js/main.js"' in index.text
        for path in JS:
            r = client.get(f"/js/{path.name}")
            assert r.status_code == 200
            assert "javascript" in r.headers["content-type"], path.name
        assert "text/css" in client.get("/app.css").headers["content-type"]
        api = client.post("/v1/search", json={"query": "fair use"})  # the API is not shadowed
        assert api.status_code == 200 and "passages" in api.json()
