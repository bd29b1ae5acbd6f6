"""Never a 500 for anything a caller sends, and identifiers that cannot split a budget (docs/contract.md §8)."""

from __future__ import annotations

import http.client
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from helpers import BODY, make_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers import start_instance, wait_until_serving

from policy_service.decisionlog.audit import neutralise


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return make_app(tmp_path_factory.mktemp("hostile")).test_client()


def _post(client: Any, raw: str | bytes, path: str = "/v1/decisions") -> Any:
    return client.post(path, data=raw, content_type="application/json")


BODY_TEXT = json.dumps(BODY)
REVIEWED = {  # the security review's inputs, each a 500 before
    "a lone surrogate in an id": (BODY_TEXT.replace('"cu-88"', '"cu-\\ud800"'), "customer.id"),
    "a lone surrogate in a key": (BODY_TEXT.replace('"tier": "gold"', '"ti\\udc00er": "gold"'), "customer"),
    "1e999999 as an amount": (BODY_TEXT.replace('"120.00"', "1e999999"), "proposal.amount"),
    "a 30-digit amount": (BODY_TEXT.replace('"120.00"', '"123456789012345678901234567890"'), "proposal.amount"),
    "nesting past 32 levels": ('{"agent": ' + "[" * 40 + "]" * 40 + "}", "agent" + ".0" * 32),
    "nesting past the parser's recursion": ('{"agent": ' + "[" * 20000 + "]" * 20000 + "}", "body"),
}


@pytest.mark.parametrize("name", sorted(REVIEWED))
def test_the_reviews_inputs_are_422s_naming_where(client: Any, name: str) -> None:
    """Each input the review found a 500 with is a 422 that names the field or the place."""
    raw, where = REVIEWED[name]
    answer = _post(client, raw)
    assert answer.status_code == 422, answer.get_data(as_text=True)[:300]
    assert where in answer.get_json()["errors"], answer.get_json()


def test_a_30_digit_days_amount_is_a_422(client: Any) -> None:
    body = {"agent": {"id": "ag-101"}, "proposal": {"action": "payment_extension", "amount": 10 ** 29}}
    answer = client.post("/v1/decisions", json=body)
    assert answer.status_code == 422 and "proposal.amount" in answer.get_json()["errors"]


NEWLINE_ENDED = {  # a regular expression's $ also matches before a final newline (found by a review)
    "an amount": ({"proposal": {**BODY["proposal"], "amount": "120.00\n"}}, "proposal.amount"),
    "a whole number": ({"customer": {**BODY["customer"], "tenure_months": "26\n"}}, "customer.tenure_months"),
    "a locale": ({"locale": "es\n"}, "locale"),
}


@pytest.mark.parametrize("name", sorted(NEWLINE_ENDED))
def test_a_value_ending_in_a_newline_is_refused_not_read_without_it(client: Any, name: str) -> None:
    """"120.00\n" is not an amount: a 422 naming the field, as for any other stray character."""
    change, where = NEWLINE_ENDED[name]
    answer = client.post("/v1/decisions", json={**BODY, **change})
    assert answer.status_code == 422, answer.get_data(as_text=True)[:300]
    assert where in answer.get_json()["errors"], answer.get_json()


@pytest.mark.parametrize("spelling", ["cu-88 ", " cu-88", "cu-88\u200b", "cu-\u000088", "cu-88\u2060", "cu\t88"])
def test_an_id_that_could_split_a_budget_is_refused(client: Any, spelling: str) -> None:
    """Whitespace around, control or invisible characters in an id: 422 naming the field."""
    answer = client.post("/v1/decisions", json={**BODY, "customer": {**BODY["customer"], "id": spelling}})
    assert answer.status_code == 422 and "customer.id" in answer.get_json()["errors"]


def test_ids_are_nfc_normalised_so_one_customer_has_one_budget(client: Any) -> None:
    """"José" typed precomposed or decomposed is one customer, stored once, in NFC."""
    decomposed = "cu-Jose\u0301"
    answer = client.post("/v1/decisions", json={**BODY, "customer": {**BODY["customer"], "id": decomposed}})
    assert answer.status_code == 201
    page = client.get("/v1/decisions?customer_id=cu-Jos\u00e9").get_json()
    assert [item["decision_id"] for item in page["items"]] == [answer.get_json()["decision_id"]]


@pytest.mark.slow
def test_a_chunked_body_over_the_limit_is_refused_not_cut(tmp_path: Path) -> None:
    """Under gunicorn, a body streamed without a length is a 413 past 64 KiB, never cut and decided
    (JSON followed by 70 KB of spaces still parses when cut: it was a 201)."""
    port, server = start_instance(f"sqlite:///{tmp_path / 'log.db'}", tmp_path)
    try:
        wait_until_serving(port, server)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/v1/decisions", body=iter([json.dumps(BODY).encode(), b" " * 70000]),
                           headers={"Content-Type": "application/json"}, encode_chunked=True)
        assert connection.getresponse().status == 413
        connection.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_filters_honour_utc_offsets(database_url: str, tmp_path: Path) -> None:
    """`from=…+05:00` finds what the same instant in UTC finds, on SQLite as on PostgreSQL."""
    client = make_app(tmp_path, DATABASE_URL=database_url).test_client()
    decided = client.post("/v1/decisions", json=BODY).get_json()
    at = datetime.fromisoformat(decided["created_at"].replace("Z", "+00:00"))
    before = (at - timedelta(seconds=5)).astimezone(timezone(timedelta(hours=5))).isoformat()
    after = (at + timedelta(seconds=5)).astimezone(timezone(timedelta(hours=-3))).isoformat()
    found = client.get("/v1/decisions", query_string={"from": before, "to": after}).get_json()["items"]
    assert [item["decision_id"] for item in found] == [decided["decision_id"]]
    later = (at + timedelta(seconds=5)).astimezone(timezone(timedelta(hours=5))).isoformat()
    assert client.get("/v1/decisions", query_string={"from": later}).get_json()["items"] == []


def test_a_nul_in_a_filter_is_a_422_not_a_database_error(database_url: str, tmp_path: Path) -> None:
    client = make_app(tmp_path, DATABASE_URL=database_url).test_client()
    answer = client.get("/v1/decisions", query_string={"customer_id": "cu\x0088"})
    assert answer.status_code == 422 and "customer_id" in answer.get_json()["errors"]


@pytest.mark.parametrize("cell, safe", [("=1+1", "'=1+1"), ("cu;=1+1", "cu;'=1+1"), ("cu,=1+1", "cu,'=1+1"),
                                        ("a,@SUM(A1)", "a,'@SUM(A1)"), ("cu-88", "cu-88")])
def test_csv_cells_are_neutralised_after_either_separator(cell: str, safe: str) -> None:
    """A formula cannot start after a `;` or `,` a spreadsheet might split on."""
    assert neutralise(cell) == safe


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(agent=JSON, customer=JSON, proposal=JSON, extra=st.dictionaries(st.text(max_size=6), JSON, max_size=2),
       surrogate=st.sampled_from(["", "\\ud800", "\\udfff"]), number=st.sampled_from(["1", "1e999999", "-0", "1" * 40]))
def test_no_body_gets_a_500(client: Any, agent: Any, customer: Any, proposal: Any, extra: dict[str, Any],
                            surrogate: str, number: str) -> None:
    """Arbitrary JSON in every part of the request, plus the review's surrogates and numbers: 4xx or 201."""
    body = {"agent": agent, "customer": customer, "proposal": proposal, **extra}
    raw = json.dumps(body).replace('""', f'"{surrogate}"', 1).replace("0", number, 1)
    assert _post(client, raw).status_code < 500
    valid_shape = {"agent": {"id": "ag-101"}, "customer": customer, "proposal": {"action": "refund", "amount": proposal}}
    assert _post(client, json.dumps(valid_shape).replace("0", number, 1)).status_code < 500


def test_readyz_tells_an_anonymous_probe_no_paths_key_counts_or_callers(tmp_path: Path) -> None:
    """Anonymous: ready or not, the revision, whether a reload failed. With a key: the detail."""
    from helpers import keyed_app

    app, headers = keyed_app(tmp_path, {"ops": (["auditor"], False)})
    client = app.test_client()
    anonymous = client.get("/readyz").get_json()
    assert anonymous["status"] == "ok" and anonymous["keys"] == {"mode": "keys"}
    assert "directory" not in anonymous["policies"] and "/" not in json.dumps(anonymous["policies"])
    detailed = client.get("/readyz", headers=headers["ops"]).get_json()
    assert detailed["keys"]["count"] == 1 and "directory" in detailed["policies"]


def test_a_database_error_never_carries_the_values_bound_to_it(tmp_path: Path) -> None:
    """Errors reach the logs as one line with the statement, never the values (customer data)."""
    import pytest as _pytest
    import sqlalchemy

    from policy_service.decisionlog import DecisionStore
    from policy_service.errors import StoreError

    store = DecisionStore(f"sqlite:///{tmp_path / 'log.db'}")
    store.prepare()
    with store.engine.begin() as connection:
        connection.execute(sqlalchemy.text("DROP TABLE policy_reloads"))
    with _pytest.raises(StoreError) as raised:
        store.record_reload("api", "secret-caller-name", True, "sha256:x", [])
    assert "secret-caller-name" not in str(raised.value) and "parameters hidden" in str(raised.value)


@pytest.mark.parametrize("customer_key", [None, "s3cret"])
def test_the_idempotency_index_reveals_no_masked_value(database_url: str, tmp_path: Path, customer_key: str | None) -> None:
    """The review recovered a masked lifetime value and the customer id from an unkeyed SHA-256 of
    the raw body; the stored fingerprint now matches no hash an attacker can compute from guesses,
    and retries still replay while another body with the same key is still a 409."""
    import hashlib

    import sqlalchemy

    from policy_service.decisionlog.chain import canonical_json

    client = make_app(tmp_path, DATABASE_URL=database_url, MASKED_FIELDS="customer.lifetime_value",
                      CUSTOMER_ID_KEY=customer_key).test_client()
    body = {**BODY, "customer": {**BODY["customer"], "lifetime_value": "4321.00"}}
    first = client.post("/v1/decisions", json=body, headers={"Idempotency-Key": "k-1"})
    again = client.post("/v1/decisions", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    other = {**body, "proposal": {**body["proposal"], "amount": "121.00"}}
    assert client.post("/v1/decisions", json=other, headers={"Idempotency-Key": "k-1"}).status_code == 409
    engine = sqlalchemy.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        stored = connection.execute(sqlalchemy.text("SELECT body_hash FROM idempotency_keys")).scalar_one()
    engine.dispose()
    raw_guess = hashlib.sha256(canonical_json(json.loads(json.dumps(body))).encode()).hexdigest()
    assert stored != raw_guess
