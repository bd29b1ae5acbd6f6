"""The OpenAPI document: valid, complete (every route of the URL map is in it), self-hosted docs, and
a schemathesis run against the app: no 5xx, every response as documented, bad input refused."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from typing import Any

import pytest
import schemathesis
from helpers import keyed_app
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks

from policy_service.service.keys import ROLES
from policy_service.web.openapi import documented_routes, in_api_document, openapi_path

EXAMPLES = 60


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, str]]:
    app, headers = keyed_app(tmp_path_factory.mktemp("openapi"), {"all": (list(ROLES), True)})
    return app, headers["all"]


def test_the_document_is_valid_openapi_and_covers_every_route(keyed: tuple[Any, dict[str, str]]) -> None:
    app, _ = keyed
    document = app.test_client().get("/openapi.json").get_json()
    validate(document)
    routes = {(openapi_path(rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if in_api_document(rule)
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes == documented
    for path, item in document["paths"].items():
        for method, operation in item.items():
            roles = (app.view_functions[app.url_map.bind("").match(
                re.sub(r"\{\w+\}", "x", path), method=method.upper())[0]]).access
            assert set(operation.get("x-roles", [])) == set(roles), (path, method)


def test_the_request_schema_follows_the_live_policies(keyed: tuple[Any, dict[str, str]]) -> None:
    schemas = keyed[0].test_client().get("/openapi.json", headers=keyed[1]).get_json()["components"]["schemas"]
    shapes = {shape["title"]: shape for shape in schemas["Proposal"]["oneOf"]}
    assert "refund" in shapes["money proposal"]["properties"]["action"]["enum"]
    assert "amount" not in shapes["flag proposal"]["properties"]
    assert "ag-101" in schemas["Agent"]["properties"]["id"]["enum"]
    assert schemas["DecisionRequest"]["additionalProperties"] is False


def test_an_anonymous_caller_sees_no_agent_ids_in_the_document(keyed: tuple[Any, dict[str, str]]) -> None:
    """The directory's ids are for callers with a key (docs/contract.md §8); the rest is the same."""
    client = keyed[0].test_client()
    anonymous, keyed_document = client.get("/openapi.json").get_json(), client.get("/openapi.json", headers=keyed[1]).get_json()
    assert "ag-101" not in json.dumps(anonymous) and "ag-101" in json.dumps(keyed_document)
    assert anonymous["paths"] == keyed_document["paths"]


def test_docs_are_served_without_any_outside_address(keyed: tuple[Any, dict[str, str]]) -> None:
    client = keyed[0].test_client()
    page = client.get("/docs").get_data(as_text=True)
    assert "http://" not in page and "https://" not in page and "//" not in page.replace("<!doctype", "")
    for asset in re.findall(r'(?:src|href)="([^"]+)"', page):
        response = client.get(f"/{asset}")
        assert response.status_code == 200 and len(response.data) > 0, asset
    assert b"SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").data
    assert client.get("/docs/assets/../keys.json").status_code == 404


CHECKS = [checks.status_code_conformance, checks.content_type_conformance, checks.response_schema_conformance,
          checks.response_headers_conformance, checks.negative_data_rejection]


def test_schemathesis_finds_no_failure(keyed: tuple[Any, dict[str, str]]) -> None:
    """Every documented operation, with generated valid and invalid requests (schemathesis' own pytest
    integration does not run under pytest 9, so its strategies are driven by hypothesis here)."""
    app, headers = keyed
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app, headers=headers)  # with the agent ids
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    # schemathesis leaves out the document's own path
    assert {(o.path, o.method) for o in operations} | {("/openapi.json", "get")} == {(r.path, r.method) for r in documented_routes(app)}
    statuses: dict[str, Counter[int]] = {}
    for operation, mode in itertools.product(operations, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):
        if operation.path == "/docs":
            continue  # HTML: nothing for the checks to read
        if mode is GenerationMode.NEGATIVE and not (operation.definition.raw.get("parameters") or
                                                     operation.definition.raw.get("requestBody")):
            continue  # nothing to get wrong
        seen = statuses.setdefault(f"{operation.label} {mode.value}", Counter())

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)  # the same examples every run: CI must not be a lottery
        def exercise(case: Any) -> None:
            response = case.call_and_validate(headers=headers, checks=[not_a_server_error, *CHECKS])
            seen[response.status_code] += 1  # noqa: B023 - run at once, inside this iteration

        try:
            exercise()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # collect them all: one run shows every operation that fails
            failures[f"{operation.label} {mode.value}"] = str(exc)[:3000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    # The generated requests reach the real work, not only the validation: some decisions are made.
    assert statuses["POST /v1/decisions positive"][201] > 0, statuses
    assert statuses["POST /v1/decisions negative"][422] > 0, statuses
