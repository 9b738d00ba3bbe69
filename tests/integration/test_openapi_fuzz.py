"""Property-based fuzz of the gateway's OpenAPI schema (schemathesis): no 5xx, ever, and
every response as the schema declares it."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from serving.app import create_app
from serving.auth import add_key
from serving.settings import GatewaySettings
from tests.serving.corpus_slice import SliceRetriever

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    keys = tmp_path_factory.mktemp("fuzz") / "keys.json"
    key = add_key(keys, "fuzz", admin=True, rate_per_minute=1_000_000)
    settings_ = GatewaySettings(_env_file=None, api_keys_file=keys, rate_limit_burst=1000)  # type: ignore[call-arg]
    app = create_app(settings_, retriever=SliceRetriever())
    return app, key


def _schema():
    # the schema is loaded from the app itself (no server needed to read it)
    app = create_app(GatewaySettings(_env_file=None), retriever=SliceRetriever())  # type: ignore[call-arg]
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = _schema()


# The schema says what the gateway does: every status it answers with is declared, with the
# declared body and headers (429's Retry-After), and a method a path does not serve is 405
# with an `Allow` header naming the ones it does.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case, fuzz_target):
    app, key = fuzz_target
    for headers in ({"Authorization": f"Bearer {key}"}, {}):
        response = case.call(headers=headers, app=app)
        assert response.status_code < 500, (case.method, case.path, response.text[:500])
        if response.status_code >= 400:
            assert "error" in response.json()
        case.validate_response(response, checks=CHECKS)


def test_unserved_methods_are_405_with_the_allow_header(fuzz_target):
    from starlette.testclient import TestClient

    app, key = fuzz_target
    spec = app.openapi()["paths"]
    with TestClient(app) as client:
        for path, operations in spec.items():
            url = path.replace("{doc_id}", "usc:17/107")
            allowed = {m.upper() for m in operations}
            for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - allowed:
                r = client.request(method, url, headers={"Authorization": f"Bearer {key}"})
                assert r.status_code == 405, (method, path, r.status_code)
                assert set(r.headers["Allow"].split(", ")) == allowed, (method, path)
                assert r.json()["error"]["code"] == "method_not_allowed"
