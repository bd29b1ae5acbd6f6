"""A stored revision's files cut into passages, each rule's lines apart under `policy/rule`."""

from __future__ import annotations

from pathlib import Path

from helpers import EXAMPLE_POLICIES, make_app

from policy_service.service.passages import revision_files, rule_passages, stored_revision
from policy_service.web.state import service_state

FILES = {p.name: p.read_text() for p in EXAMPLE_POLICIES.glob("*.yaml")}


def test_each_rule_is_its_own_passage_from_its_item_to_its_last_line() -> None:
    """outside_return_window runs from its `- id:` line to its English words, and says what it does."""
    passage = rule_passages(FILES)["refunds/outside_return_window"]
    lines = passage.text.splitlines()
    assert lines[0].strip() == "- id: outside_return_window"
    assert "require_tier: {refund: supervisor}" in passage.text and lines[-1].strip().startswith("en:")
    assert FILES["refunds.yaml"].splitlines()[passage.first_line - 1] == lines[0]
    assert passage.effects == ("require_tier", "offer", "say")


def test_the_passages_of_a_file_give_back_the_file() -> None:
    """Nothing is lost or repeated: a comment between the last rule and the next key stays outside it."""
    for file in revision_files(FILES):
        assert "\n".join(p.text for p in file.passages) == FILES[file.path].rstrip("\n")
    last = rule_passages(FILES)["refunds/fraud_review"]
    assert "# What is offered" not in last.text and not last.text.endswith("\n")


def test_a_file_that_does_not_parse_or_holds_no_policy_is_one_passage() -> None:
    files = {"broken.yaml": "kind: Policy\nrules: [\n", "organization.yaml": FILES["organization.yaml"]}
    for file in revision_files(files):
        assert len(file.passages) == 1 and file.passages[0].rule is None
    assert rule_passages(files) == {}


def test_rules_written_on_one_line_are_not_cut() -> None:
    """Flow-style rules share their lines: the file is shown whole rather than cut wrongly."""
    files = {"p.yaml": "kind: Policy\nid: p\nrules: [{id: a, when: {}, then: {}}, {id: b, when: {}, then: {}}]\n"}
    assert rule_passages(files) == {}


def test_a_stored_revision_is_read_from_the_log_cut_into_passages(tmp_path: Path) -> None:
    """The revision the example policies were loaded as, with its rules anchored; an unknown one is None."""
    app = make_app(tmp_path)
    with app.app_context():
        state = service_state()
        stored = stored_revision(state.store, state.runtime.revision)
        assert stored is not None and stored.revision == state.runtime.revision
        assert stored_revision(state.store, "sha256:" + "0" * 64) is None
    rules = {p.rule for f in stored.files for p in f.passages if p.rule}
    assert "refunds/gold_leeway" in rules and [f.path for f in stored.files] == sorted(n for n in FILES if not n.endswith("_test.yaml"))
