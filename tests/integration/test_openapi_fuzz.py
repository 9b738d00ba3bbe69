"""Property-based fuzz of the gateway's OpenAPI schema (schemathesis): no 5xx, ever."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

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


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, fuzz_target):
    app, key = fuzz_target
    for headers in ({"Authorization": f"Bearer {key}"}, {}):
        response = case.call(headers=headers, app=app)
        assert response.status_code < 500, (case.method, case.path, response.text[:500])
        if response.status_code >= 400:
            assert "error" in response.json()
