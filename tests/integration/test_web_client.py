"""The web client in a real browser (Debian's Chromium via Playwright) against a real gateway.

The gateway is `serving.app.create_app` under uvicorn over the real index slice
(`tests/support/index_slice.py`) with a real API keys file; answers come from the extractive
backend (the vLLM path is the gateway's own integration tests). A second gateway points its
generator at a closed port and allows one request per key, for the degraded and rate-limited
states. Screenshots go to `test-artifacts/web/` (git-ignored) at laptop and phone widths.

Every test fails if the browser logs an error or a page error, except the failed-resource
lines of the HTTP errors the test itself provokes (401, 429, an aborted request).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from serving.app import create_app
from serving.auth import add_key
from serving.lab.vllm_process import free_port
from serving.settings import GatewaySettings
from tests.integration.conftest import running_gateway
from tests.support.fake_vllm import FakeModelServer

pytestmark = pytest.mark.integration

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
QUESTION = "What must the proponent of expert testimony show under Rule 702?"
OLD_702 = "the expert has reliably applied the principles and methods"
NEW_702 = "more likely than not"
TIMEOUT_MS = 30_000


# ---- servers and browser ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def web_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A keys file: a lawyer's key (generous) and a key allowed one request at a time."""
    path = tmp_path_factory.mktemp("web-keys") / "keys.json"
    return {
        "path": path,
        "user": add_key(path, "web-lawyer", rate_per_minute=100_000),
        "limited": add_key(path, "web-limited", rate_per_minute=1),
    }


@pytest.fixture(scope="module")
def gateway(slice_retriever: Any, web_keys: dict[str, Any]) -> Iterator[str]:
    """The real gateway (extractive backend) serving the web client at `/`."""
    settings = GatewaySettings(api_keys_file=web_keys["path"], vllm_url="")
    with running_gateway(create_app(settings, retriever=slice_retriever)) as url:
        yield url


@pytest.fixture(scope="module")
def degraded_gateway(slice_retriever: Any, web_keys: dict[str, Any]) -> Iterator[str]:
    """A gateway whose vLLM is down (a closed port) and whose buckets hold one request."""
    settings = GatewaySettings(
        api_keys_file=web_keys["path"],
        vllm_url=f"http://127.0.0.1:{free_port()}",
        vllm_connect_timeout_s=1,
        vllm_retries=0,
        rate_limit_burst=1,
    )
    with running_gateway(create_app(settings, retriever=slice_retriever)) as url:
        yield url


@pytest.fixture(scope="module")
def looping_gateway(slice_retriever: Any, web_keys: dict[str, Any]) -> Iterator[str]:
    """A gateway whose model answers "word word word …" until it is stopped."""
    with FakeModelServer("trickle", interval_s=0.01) as model:
        settings = GatewaySettings(api_keys_file=web_keys["path"], vllm_url=model.url)
        with running_gateway(create_app(settings, retriever=slice_retriever)) as url:
            yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless (Playwright's own browser download does not work here)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (make setup-browser)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Console:
    """Errors the page logged; `allow` holds patterns of expected failed-resource lines."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allow: list[str] = []

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(re.search(a, e) for a in self.allow)]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def open_page(browser: Any, console: Console) -> Iterator[Any]:
    """`open_page(url, viewport)`: a fresh browser context (empty storage) with the console
    watched; at the end of the test no unexpected console error or page error may remain."""
    contexts: list[Any] = []

    def make(url: str, viewport: dict[str, int] = LAPTOP) -> Any:
        context = browser.new_context(viewport=viewport)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on(
            "console",
            lambda m: (
                console.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None
            ),
        )
        page.on("pageerror", lambda e: console.errors.append(f"pageerror: {e}"))
        page.goto(url + "/")
        page.wait_for_selector("html[data-ready='true']")
        return page

    yield make
    for context in contexts:
        context.close()
    assert console.unexpected() == [], "the browser logged errors"


def shot(page: Any, name: str, full_page: bool = False) -> Path:
    """Write a screenshot under test-artifacts/web/ and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 5_000
    return path


def save_key(page: Any, key: str) -> None:
    page.click("#key-summary")
    page.fill("#api-key", key)
    page.press("#api-key", "Enter")
    page.wait_for_selector("#key-summary:has-text('✓')")


# A MutationObserver records whether answer text was on screen while the stream was open.
WATCH_STREAM = """
() => {
  window.__partial = 0;
  const answer = document.getElementById('answer');
  new MutationObserver(() => {
    if (answer.getAttribute('aria-busy') === 'true' && answer.textContent.length > 0
        && !answer.querySelector('a.cite-ref')) window.__partial += 1;
  }).observe(answer, {childList: true, characterData: true, subtree: true});
}
"""


def throttle(page: Any, bytes_per_s: int = 40_000) -> None:
    """Slow the page's downloads (Chromium's network emulation) so a streamed answer arrives
    in many pieces even over loopback, and partial text can be seen on screen."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": bytes_per_s, "uploadThroughput": -1},
    )


def ask(page: Any, question: str, as_of: str = "") -> None:
    page.fill("#question", question)
    page.fill("#as-of", as_of)
    page.press("#question", "Enter")  # Enter submits


# ---- tests ------------------------------------------------------------------------------------


def test_answer_streams_cites_and_opens_the_document_as_of(
    gateway: str, open_page: Any, web_keys: dict[str, Any]
) -> None:
    page = open_page(gateway)
    save_key(page, web_keys["user"])
    page.evaluate(WATCH_STREAM)
    throttle(page)
    ask(page, QUESTION, as_of="2023-06-01")
    page.wait_for_selector("#answer[data-state='done']")

    # streamed: many token events reached the page, text showed before the final answer
    assert int(page.get_attribute("#answer", "data-tokens") or 0) > 10
    assert page.evaluate("window.__partial") >= 2
    assert page.get_attribute("#answer", "aria-live") == "polite"
    answer = page.inner_text("#answer")
    assert "Fed. R. Evid. 702" in answer and OLD_702 in answer and NEW_702 not in answer
    assert "Every citation verified" in page.inner_text("#verification")
    shot(page, "laptop-answer", full_page=True)

    # [n] → its card: canonical citation, the quoted words highlighted, a badge
    ref = page.locator("#answer a.cite-ref", has_text="[1]").first
    ref.click()
    card = page.locator("#card-1")
    assert page.evaluate("document.activeElement.id") == "card-1"
    assert card.locator("cite").inner_text() == "Fed. R. Evid. 702"
    assert card.locator(".badge").inner_text() == "verified"
    # each quoted subdivision is marked (passages print their labels: "(d) the expert …")
    assert any(OLD_702 in t for t in card.locator("mark.quote").all_inner_texts())

    # the document at the cited section, passage highlighted, as of the question's date
    open_button = card.locator("button.open-doc")
    open_button.click()
    panel = page.locator("#doc-panel")
    page.wait_for_selector("#doc-panel[data-state='loaded']")
    cited = panel.locator(".doc-section.cited")
    assert cited.count() == 1
    assert any(OLD_702 in t for t in cited.locator("mark.quote").all_inner_texts())
    assert "as of 2023-06-01" in panel.locator("#doc-meta").inner_text()
    assert panel.locator("#doc-nav a").count() >= 1
    old_version = panel.get_attribute("data-version")
    shot(page, "laptop-document-2023-06-01")

    # switch "as of": the amended rule (in force 2023-12-01) and a note that quotes differ
    page.fill("#doc-as-of", "2024-01-01")
    page.press("#doc-as-of", "Enter")
    page.wait_for_function(
        "v => document.getElementById('doc-panel').dataset.version !== v", arg=old_version
    )
    text = panel.locator(".doc-section.cited").inner_text()
    assert NEW_702 in text and OLD_702 not in text
    assert "do not appear" in panel.locator("#doc-note").inner_text()
    shot(page, "laptop-document-2024-01-01")

    # the version list goes back to the version the answer cited
    value = page.evaluate(
        """v => [...document.querySelectorAll('#doc-version option')]
                  .find(o => o.textContent.startsWith(v + ':')).value""",
        old_version,
    )
    page.select_option("#doc-version", value)
    page.wait_for_function(
        "v => document.getElementById('doc-panel').dataset.version === v", arg=old_version
    )
    marked = panel.locator(".doc-section.cited mark.quote").all_inner_texts()
    assert any(OLD_702 in t for t in marked)

    # Escape closes the panel and gives focus back to the button that opened it
    page.keyboard.press("Escape")
    assert not panel.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('open-doc')")

    # copy the answer with its citations (clipboard API)
    page.click("#copy")
    page.wait_for_selector("#status[data-state='copied']")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert OLD_702 in copied and "[1] Fed. R. Evid. 702 (verified)" in copied

    # history and key survive a reload (localStorage)
    page.reload()
    page.wait_for_selector("html[data-ready='true']")
    assert QUESTION in page.inner_text("#history")
    assert "✓" in page.inner_text("#key-summary")
    page.click("#history .history-item")
    assert page.input_value("#question") == QUESTION
    assert page.input_value("#as-of") == "2023-06-01"


def test_keyboard_alone_asks_and_moves_through_citations(
    gateway: str, open_page: Any, web_keys: dict[str, Any]
) -> None:
    page = open_page(gateway)
    save_key(page, web_keys["user"])
    page.reload()  # start from the top of a fresh page, the key kept in localStorage
    page.wait_for_selector("html[data-ready='true']")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "question"
    page.keyboard.type("Under Rule 702, when may an expert witness testify?")
    page.keyboard.press("Enter")
    page.wait_for_selector("#answer[data-state='done']")

    # Tab reaches a [n] link; its focus is visible; Enter moves to the card
    page.focus("#copy")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('cite-ref')"):
            break
    assert page.evaluate("document.activeElement.classList.contains('cite-ref')")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
    n = page.evaluate("document.activeElement.dataset.n")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == f"card-{n}"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('open-doc')"):
            break
    page.keyboard.press("Enter")
    page.wait_for_selector("#doc-panel[data-state='loaded']")
    assert page.locator("#doc-panel .doc-section.cited").count() == 1
    page.keyboard.press("Escape")
    assert not page.locator("#doc-panel").is_visible()


def test_search_only_at_phone_width(gateway: str, open_page: Any, web_keys: dict[str, Any]) -> None:
    page = open_page(gateway, PHONE)
    save_key(page, web_keys["user"])
    page.check("input[name='mode'][value='search']")
    assert page.inner_text("#submit") == "Search"
    page.select_option("#kind", "rule")
    ask(page, "summary judgment no genuine dispute as to any material fact")
    page.wait_for_selector("#status[data-state='done']")
    assert page.locator("#answer-section").is_hidden()
    results = page.locator("#results > li.card")
    assert results.count() >= 1
    citations = results.locator("cite").all_inner_texts()
    assert all(c.startswith("Fed. R.") for c in citations), citations
    assert any(c.startswith("Fed. R. Civ. P. 56") for c in citations), citations
    # readable at 390 px: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.evaluate("document.getElementById('results-heading').scrollIntoView()")
    shot(page, "phone-search")
    results.first.locator("button.open-doc").click()
    page.wait_for_selector("#doc-panel[data-state='loaded']")
    assert page.locator("#doc-panel .doc-section.cited").count() == 1
    shot(page, "phone-document")
    page.keyboard.press("Escape")

    # the answer at phone width too
    page.check("input[name='mode'][value='ask']")
    ask(page, QUESTION, as_of="2024-01-01")
    page.wait_for_selector("#answer[data-state='done']")
    assert NEW_702 in page.inner_text("#answer")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.evaluate("document.getElementById('answer-section').scrollIntoView()")
    shot(page, "phone-answer")


def test_find_documents_lists_each_document_once(
    gateway: str, open_page: Any, web_keys: dict[str, Any]
) -> None:
    page = open_page(gateway)
    save_key(page, web_keys["user"])
    query = "summary judgment no genuine dispute as to any material fact, motion to dismiss"
    opened = "#results > li.card button.open-doc"
    page.check("input[name='mode'][value='search']")
    page.select_option("#kind", "rule")
    ask(page, query)
    page.wait_for_selector("#status[data-state='done']")
    passages = page.locator(opened).all_inner_texts()
    assert len(set(passages)) < len(passages), passages  # several passages of one rule
    page.check("input[name='mode'][value='documents']")
    assert page.inner_text("#submit") == "Search"
    ask(page, query)
    page.wait_for_selector("#status[data-state='done']")
    documents = page.locator(opened).all_inner_texts()
    assert len(documents) == len(set(documents)) >= 2
    assert "documents" in page.inner_text("#results-meta")
    # the history remembers the mode
    page.check("input[name='mode'][value='ask']")
    page.locator("#history .history-item").first.click()
    assert page.is_checked("input[name='mode'][value='documents']")


def test_no_key_and_wrong_key_are_explained(gateway: str, open_page: Any, console: Console) -> None:
    console.allow = [r"status of 401"]
    page = open_page(gateway)
    ask(page, QUESTION)
    page.wait_for_selector("#alert[data-state='no_key']")
    assert "API key is needed" in page.inner_text("#alert")
    save_key(page, "jk_00000000_not-a-real-key")
    ask(page, QUESTION)
    page.wait_for_selector("#alert[data-state='unauthorized']")
    assert "refused" in page.inner_text("#alert")
    assert page.locator("#answer-section").is_hidden()
    shot(page, "laptop-wrong-key")
    page.click("#alert button")  # the alert leads to the key field
    assert page.evaluate("document.activeElement.id") == "api-key"


def test_no_results_and_network_error(
    gateway: str, open_page: Any, console: Console, web_keys: dict[str, Any]
) -> None:
    console.allow = [r"net::ERR_FAILED"]
    page = open_page(gateway)
    save_key(page, web_keys["user"])
    page.check("input[name='mode'][value='search']")
    page.select_option("#jurisdiction", "eu")
    page.select_option("#kind", "opinion")  # the index holds no EU court opinion
    ask(page, "right to erasure")
    page.wait_for_selector("#status[data-state='no_results']")
    assert "No passages match" in page.inner_text("#results")

    page.route("**/v1/search", lambda route: route.abort("failed"))  # the network drops
    ask(page, "right to erasure")
    page.wait_for_selector("#alert[data-state='network_error']")
    assert "could not be reached" in page.inner_text("#alert")


def _degraded_answer(page: Any, key: str) -> str:
    """Ask QUESTION (as of 2024) with `key` until the answer is done; the visible banner's text."""
    save_key(page, key)
    ask(page, QUESTION, as_of="2024-01-01")
    page.wait_for_selector("#answer[data-state='done']")
    banner = page.locator("#degraded")
    assert banner.is_visible()
    return str(banner.inner_text())


def test_a_looping_answer_is_replaced_and_the_banner_says_why(
    looping_gateway: str, open_page: Any, web_keys: dict[str, Any]
) -> None:
    page = open_page(looping_gateway)
    assert "fell into a loop" in _degraded_answer(page, web_keys["user"])
    assert "word word" not in page.inner_text("#answer")  # the streamed loop is discarded
    assert NEW_702 in page.inner_text("#answer")


def test_degraded_mode_and_rate_limit(
    degraded_gateway: str, open_page: Any, console: Console, web_keys: dict[str, Any]
) -> None:
    console.allow = [r"status of 429"]
    page = open_page(degraded_gateway)
    assert "Degraded mode" in _degraded_answer(page, web_keys["limited"])
    assert NEW_702 in page.inner_text("#answer")  # still a cited, extractive answer
    assert page.locator("#answer a.cite-ref").count() >= 1
    shot(page, "laptop-degraded")
    ask(page, QUESTION)  # the key's bucket held one request
    page.wait_for_selector("#alert[data-state='rate_limited']")
    assert re.search(r"Try again in \d+ s", page.inner_text("#alert"))


def test_client_modules_in_the_browser(gateway: str, open_page: Any) -> None:
    """The page's own parsing code, run in Chromium: SSE split anywhere, quote markers."""
    page = open_page(gateway)
    result = page.evaluate(
        """async () => {
          const { SseParser } = await import('/js/sse.js');
          const { displayOfRaw, findLoose, quoteParts } = await import('/js/text.js');
          const wire = 'event: token\\r\\ndata: {"text": "a"}\\r\\n\\r\\n: comment\\n' +
                       'event: done\\ndata: {}\\n\\n';
          const seen = [];
          for (let size = 1; size <= wire.length; size += 7) {
            const events = [];
            const p = new SseParser((n, d) => events.push(n + ' ' + d));
            for (let i = 0; i < wire.length; i += size) p.push(wire.slice(i, i + size));
            p.end();
            seen.push(events.join('|'));
          }
          return {
            sse: [...new Set(seen)],
            partial: displayOfRaw('Under § 107: ##begin_quote##fair use##end_quote## [1] ##beg'),
            loose: findLoose('a  fair\\nuse of it', 'FAIR use'),
            labelled: findLoose('shall include—\\n(1) the purpose of', 'include— the purpose'),
            unlabelled: findLoose('shall include—\\n(1) the purpose of', 'include— (2) the'),
            parts: quoteParts('… is not an infringement … of copyright'),
          };
        }"""
    )
    assert result["sse"] == ['token {"text": "a"}|done {}']
    assert result["partial"] == "Under § 107: “fair use” [1] "
    assert result["loose"] == [3, 11]
    # a quote may leave out the subdivision labels a passage prints, not change them
    assert result["labelled"] == [6, 30] and result["unlabelled"] is None
    assert result["parts"] == ["is not an infringement", "of copyright"]


def test_answer_rendering_marks_unsupported_claims_and_never_injects_html(
    gateway: str, open_page: Any
) -> None:
    """`renderAnswer` in Chromium on an answer the extractive backend never writes: a claim
    with no verified citation, an `[n]` naming no source, and markup in server text."""
    page = open_page(gateway)
    result = page.evaluate(
        """async () => {
          const { renderAnswer, renderCards } = await import('/js/render.js');
          const response = {
            answer: 'Rule 702 governs experts [1]. Courts always admit experts [2]. ' +
                    '<img src=x id=injected> is text.',
            passages: [{n: 1, doc_id: 'fre:702', citation: 'Fed. R. Evid. 702',
                        doc_citation: 'Fed. R. Evid. 702', anchor: 'p-body', title: '<b>t</b>',
                        version: '2024', valid_from: '2023-12-01', valid_to: null,
                        text: 'A witness who is qualified <script>x</script> may testify'}],
            citations: [
              {n: 1, kind: 'source', status: 'verified', quote: 'may testify',
               quotes: ['may testify'], doc_id: 'fre:702', citation: 'Fed. R. Evid. 702'},
              {n: 2, kind: 'source', status: 'not_in_sources', quote: null, quotes: [],
               doc_id: null, citation: ''}],
            verification: {unsupported: ['Courts always admit experts [2].'],
                           unsupported_claims: 1, citations_by_status: {}, all_verified: false},
          };
          const box = document.createElement('div');
          const cards = document.createElement('ol');
          document.body.append(box, cards);
          renderAnswer(box, response, () => {});
          renderCards(cards, response, () => {});
          const out = {
            unsupported: [...box.querySelectorAll('.unsupported')].map(e => e.textContent),
            refs: [...box.querySelectorAll('a.cite-ref')].map(a => a.className),
            injected: document.querySelectorAll('#injected, ol script, ol b').length,
            badges: [...cards.querySelectorAll('.badge')].map(b => b.textContent),
            marked: [...cards.querySelectorAll('mark')].map(m => m.textContent),
          };
          box.remove(); cards.remove();
          return out;
        }"""
    )
    assert result["unsupported"] == ["Unsupported: Courts always admit experts [2]."]
    assert result["refs"] == ["cite-ref ref-verified", "cite-ref ref-not_in_sources"]
    assert result["injected"] == 0
    assert result["badges"] == ["verified", "not among the sources"]
    assert result["marked"] == ["may testify"]


def test_the_model_menu_lists_served_models_and_the_answer_names_its_writer(
    real_vllm: Any, slice_retriever: Any, open_page: Any, web_keys: dict[str, Any]
) -> None:
    """The real model and its adapter, chosen in the page; the answer says which wrote it."""
    settings = GatewaySettings(
        api_keys_file=web_keys["path"], vllm_url=real_vllm.url, vllm_max_tokens=24,
        prompt_max_chars_per_source=700, vllm_first_token_timeout_s=120,
        vllm_total_timeout_s=240,
        set_aside_uncited=False,  # 24 tokens may cite nothing; the writer is what is checked
    )  # fmt: skip
    with running_gateway(create_app(settings, retriever=slice_retriever)) as url:
        page = open_page(url)
        save_key(page, web_keys["user"])
        page.focus("#model")
        page.wait_for_selector("#model option[value='legal']", state="attached")
        labels = page.locator("#model option").all_inner_texts()
        assert any(t.startswith("legal — LoRA adapter of smollm2-135m-instruct") for t in labels)
        assert any(t.startswith("extractive —") for t in labels), labels
        page.select_option("#model", "legal")
        ask(page, QUESTION)
        page.wait_for_selector("#answer[data-state='done']", timeout=240_000)
        meta = page.inner_text("#answer-meta")
        assert "Written by legal (LoRA adapter of smollm2-135m-instruct)" in meta, meta
        page.check("input[name='mode'][value='search']")
        assert page.locator("#model-choice").is_hidden()


@contextmanager
def calibrated(slice_retriever: Any, weak: bool = False) -> Iterator[Any]:
    """The slice's retriever with a relevance threshold between an addressed question's cosine
    and that of one about law the slice does not hold (`test_not_addressed`); `weak`: every
    answered question short of certain is a weak match (the caution cut at 1); restored
    after."""
    from indexing.relevance import RelevanceModel
    from indexing.retrieve import Retriever
    from tests.serving.test_not_addressed import ADDRESSED, NOT_IN_INDEX

    if not isinstance(slice_retriever, Retriever):
        pytest.skip("needs the real index slice (the bundled corpus)")
    retriever = slice_retriever
    yes = retriever.search_assessed(ADDRESSED, top_k=6)[1]
    no = retriever.search_assessed(NOT_IN_INDEX, top_k=6)[1]
    assert yes is not None and no is not None and yes.cosine > no.cosine
    middle = (yes.cosine + no.cosine) / 2
    kept = retriever.relevance
    identity = retriever.embed_model or "unchecked"
    caution = 1.0 if weak else None
    retriever.relevance = RelevanceModel(identity, (40.0, 0.0), -40.0 * middle, 0.5, {}, caution)
    try:
        yield retriever
    finally:
        retriever.relevance = kept


@pytest.fixture(scope="module")
def declining_gateway(slice_retriever: Any, web_keys: dict[str, Any]) -> Iterator[str]:
    """A gateway over the calibrated slice (`calibrated`), with no model."""
    settings = GatewaySettings(api_keys_file=web_keys["path"], vllm_url="")
    with (
        calibrated(slice_retriever) as retriever,
        running_gateway(create_app(settings, retriever=retriever)) as url,
    ):
        yield url


def test_a_question_the_sources_do_not_address_is_shown_as_not_answered(
    declining_gateway: str, open_page: Any, web_keys: dict[str, Any]
) -> None:
    from tests.serving.test_not_addressed import ADDRESSED, NOT_IN_INDEX

    page = open_page(declining_gateway)
    save_key(page, web_keys["user"])
    ask(page, NOT_IN_INDEX)
    page.wait_for_selector("#answer[data-state='done']")
    banner = page.locator("#not-addressed")
    assert banner.is_visible() and "Not answered" in banner.inner_text()
    assert page.inner_text("#cards-heading") == "Nearest passages (not an answer)"
    assert page.locator("#answer a.cite-ref").count() == 0  # nothing reads as support
    assert "UNSUPPORTED" not in page.inner_text("#answer")  # the statement claims no law
    shot(page, "laptop-not-addressed")
    ask(page, ADDRESSED)  # the next, answered question clears the banner
    page.wait_for_selector("#answer[data-state='done']")
    assert not page.locator("#not-addressed").is_visible()
    assert page.inner_text("#cards-heading") == "Sources cited"
    assert page.locator("#answer a.cite-ref").count() >= 1


def test_a_trusted_answer_naming_another_country_says_so_above_the_answer(
    declining_gateway: str, open_page: Any, web_keys: dict[str, Any]
) -> None:
    """Trusted by the signal, but the only place it names is a province of Canada, whose law
    the slice holds none of: answered, under a banner that names the place."""
    from tests.serving.test_not_addressed import ADDRESSED

    page = open_page(declining_gateway)
    save_key(page, web_keys["user"])
    ask(page, ADDRESSED.removesuffix("?") + " in Ontario?")
    page.wait_for_selector("#answer[data-state='done']")
    banner = page.locator("#weak-match")
    assert banner.is_visible(), "no banner"
    said = banner.inner_text()
    assert "The question names Ontario, and the indexed sources hold no law of it" in said, said
    assert not page.locator("#not-addressed").is_visible()
    assert page.locator("#answer a.cite-ref").count() >= 1  # answered all the same
    page.click("#copy")  # a copied answer names the place too
    page.wait_for_selector("#status[data-state='copied']")
    assert "Weak match: the question names Ontario" in page.evaluate(
        "navigator.clipboard.readText()"
    )


def test_an_answer_from_weakly_matched_passages_says_so_above_the_answer(
    slice_retriever: Any, open_page: Any, web_keys: dict[str, Any]
) -> None:
    """Retrieval let the question through but matched its passages only weakly: the page
    shows the answer, and a banner that asks the reader to check that the sources govern."""
    from tests.serving.test_not_addressed import ADDRESSED, NOT_IN_INDEX

    settings = GatewaySettings(api_keys_file=web_keys["path"], vllm_url="")
    with (
        calibrated(slice_retriever, weak=True) as retriever,
        running_gateway(create_app(settings, retriever=retriever)) as url,
    ):
        page = open_page(url)
        save_key(page, web_keys["user"])
        ask(page, ADDRESSED)
        page.wait_for_selector("#answer[data-state='done']")
        banner = page.locator("#weak-match")
        assert banner.is_visible(), "no banner"
        assert "Weak match" in banner.inner_text() and "relevance 0." in banner.inner_text()
        assert not page.locator("#not-addressed").is_visible()
        assert page.locator("#answer a.cite-ref").count() >= 1  # answered all the same
        assert "a weak match: check that the sources govern" in page.inner_text("#status")
        shot(page, "laptop-weak-match")
        page.click("#copy")  # a copied answer keeps the warning
        page.wait_for_selector("#status[data-state='copied']")
        assert "Weak match: retrieval matched these sources" in page.evaluate(
            "navigator.clipboard.readText()"
        )
        ask(page, NOT_IN_INDEX)  # declined, not weak: the banner goes
        page.wait_for_selector("#answer[data-state='done']")
        assert not banner.is_visible()
        assert page.locator("#not-addressed").is_visible()
        # doubted, and about a place the slice holds no law of: declined, the place named
        ask(page, ADDRESSED.removesuffix("?") + " in Ontario?")
        page.wait_for_selector("#answer[data-state='done']")
        said = page.inner_text("#not-addressed")
        assert "the question names Ontario, and the indexed sources hold no law of it" in said
        assert not banner.is_visible()


@contextmanager
def model_on_a_page(
    retriever: Any,
    open_page: Any,
    web_keys: dict[str, Any],
    question: str,
    said: str,
    **settings: Any,
) -> Iterator[Any]:
    """A page that asked `question` of a gateway over `retriever` whose model answers `said`
    (with further `settings`), the answer done."""
    with FakeModelServer("say", text=said) as model:
        config = GatewaySettings(api_keys_file=web_keys["path"], vllm_url=model.url, **settings)
        with running_gateway(create_app(config, retriever=retriever)) as url:
            page = open_page(url)
            save_key(page, web_keys["user"])
            ask(page, question)
            page.wait_for_selector("#answer[data-state='done']")
            yield page


def test_a_model_that_says_the_sources_do_not_answer_is_shown_as_not_answered(
    slice_retriever: Any, open_page: Any, web_keys: dict[str, Any]
) -> None:
    """The model, given the passages, says that they do not answer the question: the page
    shows it as not answered, by the model, with its words checked like any answer's."""
    from serving.answer_format import NOT_ANSWERED

    # its decline stands whatever retrieval's relevance
    with model_on_a_page(
        slice_retriever, open_page, web_keys, QUESTION, NOT_ANSWERED, overrule_decline_from=0
    ) as page:
        banner = page.locator("#not-addressed")
        assert banner.is_visible(), "no banner"
        assert "the model found that the passages it was given do not answer" in (
            banner.inner_text()
        )
        assert page.inner_text("#cards-heading") == "Nearest passages (not an answer)"
        assert page.inner_text("#answer-meta").startswith("Not answered · written by base")
        assert "do not answer this question" in page.inner_text("#answer")
        assert "UNSUPPORTED" not in page.inner_text("#answer")  # it claims no law
        assert page.locator("#answer a.cite-ref").count() == 0
        shot(page, "laptop-not-answered-by-model")


def test_a_decline_retrieval_overrules_is_shown_as_the_quoted_passages(
    slice_retriever: Any, open_page: Any, web_keys: dict[str, Any]
) -> None:
    """The model says that the passages do not answer a question retrieval matched them to
    closely: the page shows the passages quoted instead, and a banner that says why."""
    from serving.answer_format import NOT_ANSWERED
    from tests.serving.test_not_addressed import ADDRESSED

    # the calibrated question's relevance is above one half
    with (
        calibrated(slice_retriever) as retriever,
        model_on_a_page(
            retriever, open_page, web_keys, ADDRESSED, NOT_ANSWERED, overrule_decline_from=0.5
        ) as page,
    ):
        banner = page.locator("#degraded")
        assert banner.is_visible(), "no banner"
        assert "said that its passages do not answer this question" in banner.inner_text()
        assert not page.locator("#not-addressed").is_visible()
        assert page.inner_text("#cards-heading") == "Sources cited"
        assert "do not answer this question" not in page.inner_text("#answer")
        assert page.locator("#answer a.cite-ref").count() >= 1  # the quoted passages
        shot(page, "laptop-decline-overruled")


def test_an_answer_that_cites_no_source_is_set_aside_for_the_quoted_passages(
    slice_retriever: Any, open_page: Any, web_keys: dict[str, Any]
) -> None:
    """The model answers without citing any of its sources: the page replaces its words with
    the passages quoted, and a banner says why."""
    said = "Fair use is a defence to copyright infringement in every case."
    with model_on_a_page(slice_retriever, open_page, web_keys, QUESTION, said) as page:
        banner = page.locator("#degraded")
        assert banner.is_visible(), "no banner"
        assert "answer cited none of its sources, so it was set aside" in banner.inner_text()
        assert "in every case" not in page.inner_text("#answer")
        assert page.locator("#answer a.cite-ref").count() >= 1  # the quoted passages
        assert page.inner_text("#answer-meta").startswith("Extractive answer")
        shot(page, "laptop-uncited-set-aside")


def test_a_marker_after_a_citation_of_other_law_is_shown_as_the_wrong_source(
    slice_retriever: Any, open_page: Any, web_keys: dict[str, Any]
) -> None:
    """The model names one rule and points at the passage of another: the marker is shown
    as the wrong source, and the card says which law it is instead."""
    said = (
        "Fed. R. Civ. P. 56(a) [1] governs this question. An expert may testify in the form "
        "of an opinion [1]."
    )
    with model_on_a_page(slice_retriever, open_page, web_keys, QUESTION, said) as page:
        wrong = page.locator("#answer a.cite-ref.ref-misattributed")
        assert wrong.count() >= 1, page.inner_text("#answer")
        assert wrong.first.get_attribute("title") == "Citation 1: wrong source"
        note = page.inner_text("#cards .note.warn")
        assert note.startswith("[1] is Fed. R. Evid. 702") and "not Fed. R. Civ. P. 56(a)" in note
        shot(page, "laptop-misattributed")


def test_an_incomplete_index_says_so_in_a_banner(
    gateway: str, slice_retriever: Any, open_page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A demo stopped while its build filled leaves searches on that build until one
    completes: the page says the index is incomplete and which sources are not fully in."""
    status = {
        "build": "juris_x", "current": "juris_x", "state": "failed", "serving": True,
        "passages": 18381, "error": "BuildStopped: build juris_x stopped after 18,381 passages",
        "sources": {"gdpr": {"state": "done"}, "uscode": {"state": "failed"}},
    }  # fmt: skip
    monkeypatch.setattr(slice_retriever, "index_status", lambda: status, raising=False)
    page = open_page(gateway)
    banner = page.locator("#index-banner")
    banner.wait_for(state="visible")
    text = banner.inner_text()
    assert "Incomplete index" in text and "18,381 passages" in text, text
    assert "Not fully indexed: uscode." in text and "gdpr" not in text
    shot(page, "index-incomplete")


def test_a_question_asked_while_the_index_warms_up_is_asked_again_and_answered(
    slice_retriever: Any,
    open_page: Any,
    console: Console,
    web_keys: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Just after a start, a question can wait past the retrieval timeout for the index's
    per-build tables: the gateway answers `503 index_warming_up`, and the page says so and
    asks again after `Retry-After` instead of showing an error; Stop still stops."""
    console.allow = [r"status of 503"]
    tables = threading.Event()

    def waiting_for_tables(search: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            tables.wait(30)
            return search(*args, **kwargs)

        return call

    for name in ("search", "search_assessed"):
        if hasattr(slice_retriever, name):
            monkeypatch.setattr(
                slice_retriever, name, waiting_for_tables(getattr(slice_retriever, name))
            )
    monkeypatch.setattr(slice_retriever, "warming", lambda: not tables.is_set(), raising=False)
    settings = GatewaySettings(api_keys_file=web_keys["path"], vllm_url="", retrieval_timeout_s=0.5)
    try:
        with running_gateway(create_app(settings, retriever=slice_retriever)) as url:
            page = open_page(url)
            save_key(page, web_keys["user"])
            ask(page, QUESTION)
            page.wait_for_selector("#status[data-state='warming']")
            assert "Trying again in 5 s" in page.inner_text("#status")
            assert page.locator("#alert").is_hidden()  # not an error: it is being handled
            page.click("#stop")
            page.wait_for_selector("#status[data-state='stopped']")
            ask(page, QUESTION)
            page.wait_for_selector("#status[data-state='warming']")
            shot(page, "laptop-warming-up")
            tables.set()  # the tables are in: the next try answers
            page.wait_for_selector("#answer[data-state='done']")
            assert page.locator("#answer a.cite-ref").count() >= 1
            assert page.locator("#alert").is_hidden()
    finally:
        tables.set()
