"""Policy loading: every problem at once, positioned, with stable codes (golden wording)."""

from __future__ import annotations

from pathlib import Path

from policy_service.authoring.diagnostics import render_text
from policy_service.authoring.loader import load_policy_set


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_example_policies_load_without_problems(policies_copy: Path) -> None:
    """The example organisation loads with no error and no warning, and gets a content revision."""
    result = load_policy_set(policies_copy)
    assert result.ok and result.diagnostics == ()
    assert result.policy_set is not None and result.policy_set.revision.startswith("sha256:")


def test_a_policy_needs_no_description(policies_copy: Path) -> None:
    """A description is for people: a policy file without one loads, with an empty description."""
    edit(policies_copy / "fees.yaml", "description:", "# description:")
    result = load_policy_set(policies_copy)
    assert result.ok and result.diagnostics == (), render_text(result.diagnostics)
    assert result.policy_set is not None and result.policy_set.policy("fees").description == ""


def test_revision_depends_on_content_only(policies_copy: Path) -> None:
    """Same files, same revision; one changed limit, another revision."""
    first = load_policy_set(policies_copy).policy_set
    again = load_policy_set(policies_copy).policy_set
    edit(policies_copy / "refunds.yaml", "agent: 50,", "agent: 60,")
    changed = load_policy_set(policies_copy).policy_set
    assert first and again and changed
    assert first.revision == again.revision != changed.revision


GOLDEN = """\
bad.yaml:4:6: error[PS001]: invalid YAML: a key ("name:") where only a value can be
  hint: check this line's indentation against the line above, or put a text that holds ": " in quotes
fees.yaml:9:41: warning[PS040]: agent may grant less than virtual_agent, a lower tier
  hint: limits usually rise with authority
refunds.yaml:9:48: error[PS013]: unknown tier "supervisr"
  hint: did you mean "supervisor"?
refunds.yaml:25:13: error[PS005]: "window": must be a number of days or hours, such as "90d" or "24h"
refunds.yaml:26:5: error[PS004]: unknown key "maxcount"
  hint: did you mean "max_count"?
refunds.yaml:31:12: error[PS020]: unknown field "customer.teir"
  hint: did you mean "customer.tier"?
refunds.yaml:34:43: error[PS022]: case.days_since_purchase is a whole number; got '30'
refunds.yaml:34:71: error[PS024]: "gld" is not a value of customer.tier
  hint: did you mean "gold"?
refunds.yaml:39:13: error[PS030]: unknown placeholder "{limt}"
  hint: did you mean "limit"?
refunds.yaml:62:16: error[PS015]: unknown team "frau"
  hint: did you mean "fraud"?
9 error(s), 1 warning(s)"""


def test_every_problem_is_reported_at_once_with_positions(policies_copy: Path) -> None:
    """A set broken in nine places reports all nine, sorted, as file:line:col with codes and hints."""
    refunds = policies_copy / "refunds.yaml"
    edit(refunds, "when: {customer.tier: {in: [gold, platinum]}}", "when: {customer.teir: {in: [gold, platinum]}}")
    edit(refunds, "{case.days_since_purchase: {gt: 30}}", '{case.days_since_purchase: {gt: "30"}, customer.tier: {in: [gld]}}')
    edit(refunds, "supervisor: 500,", "supervisr: 500,")
    edit(refunds, "handoff: fraud", "handoff: frau")
    edit(refunds, "{limit[store_credit]} en crédito", "{limt} en crédito")
    edit(refunds, "window: 24h", "window: 24x\n    maxcount: 3")
    edit(policies_copy / "fees.yaml", "fee_waiver: {virtual_agent: 5, agent: 15", "fee_waiver: {virtual_agent: 5, agent: 1")
    (policies_copy / "bad.yaml").write_text("apiVersion: policy-service/v1\nkind: Policy\nid: x\n  bad: [\n")
    result = load_policy_set(policies_copy)
    assert not result.ok
    assert render_text(result.diagnostics) == GOLDEN


def test_yaml_1_2_keeps_spanish_words_as_words(policies_copy: Path) -> None:
    """`no` and `si` stay strings (YAML 1.1 would read them as booleans)."""
    edit(policies_copy / "organization.yaml", "values: [standard, gold, platinum]", "values: [standard, gold, platinum, no, si]")
    edit(policies_copy / "refunds.yaml", "when: {customer.tier: {in: [gold, platinum]}}", "when: {customer.tier: {in: [gold, platinum, si]}}")
    result = load_policy_set(policies_copy)
    assert result.ok, render_text(result.diagnostics)


def test_limits_of_an_action_governed_twice_are_refused(policies_copy: Path) -> None:
    edit(policies_copy / "fees.yaml", "actions: [fee_waiver]", "actions: [fee_waiver, refund]")
    text = render_text(load_policy_set(policies_copy).diagnostics)
    assert 'refunds.yaml:6:11: error[PS012]: action "refund" is already governed by policy fees' in text


def test_a_rule_that_can_never_match_is_a_warning(policies_copy: Path) -> None:
    edit(policies_copy / "refunds.yaml", "when: {case.days_since_purchase: {gt: 30}}", "when: {case.days_since_purchase: {gt: 30, lt: 10}}")
    result = load_policy_set(policies_copy)
    assert result.ok
    assert [d.code for d in result.diagnostics] == ["PS041"]
    assert 'rule "outside_return_window" can never match' in result.diagnostics[0].message


def test_money_with_too_many_decimals_is_a_load_error(policies_copy: Path) -> None:
    edit(policies_copy / "refunds.yaml", "refund:       {agent: 50,", "refund:       {agent: 50.005,")
    diagnostics = load_policy_set(policies_copy).diagnostics
    assert [(d.code, d.line) for d in diagnostics] == [("PS022", 9)]
    assert "more decimals than EUR allows (2)" in diagnostics[0].message


def test_a_missing_organization_is_reported(policies_copy: Path) -> None:
    (policies_copy / "organization.yaml").unlink()
    result = load_policy_set(policies_copy)
    assert not result.ok and result.diagnostics[0].code == "PS010"


def test_skipped_files_are_not_read(policies_copy: Path) -> None:
    """Files starting with _ or . and *.md are not policy files."""
    (policies_copy / "_draft.yaml").write_text("not: [valid")
    (policies_copy / ".hidden.yaml").write_text("not: [valid")
    (policies_copy / "README.md").write_text("# notes")
    assert load_policy_set(policies_copy).ok


def test_alternatives_must_be_actions_of_the_same_policy(policies_copy: Path) -> None:
    """`alternatives:` naming an action of another policy (as a key or as an alternative) is a positioned
    PS025; an action that does not exist at all is PS014."""
    edit(policies_copy / "deliveries.yaml", "\ncaps:",
         "\nalternatives:\n  delivery_compensation: [refund, reshipment]\n  fee_waiver: []\n  reshipment: [reshipmnt]\n\ncaps:")
    text = render_text(load_policy_set(policies_copy).diagnostics)
    assert 'deliveries.yaml:13:27: error[PS025]: "refund" is not an action of policy deliveries' in text
    assert "hint: alternatives are actions of the same policy: delivery_compensation, reshipment" in text
    assert 'deliveries.yaml:14:3: error[PS025]: "fee_waiver" is not an action of policy deliveries' in text
    assert 'deliveries.yaml:15:16: error[PS014]: unknown action "reshipmnt"' in text


def _problems(policies: Path, lang: str = "en") -> str:
    return render_text(load_policy_set(policies).diagnostics, lang)


def test_a_dedented_first_key_is_reported_on_its_own_line_in_plain_words(policies_copy: Path) -> None:
    """`require_tier:` one space short of its sibling under then: is reported on its own line (33), not on
    the sibling's where the parser gave up, with a plain message and hint in either language."""
    edit(policies_copy / "refunds.yaml", "      require_tier: {refund: supervisor}", "     require_tier: {refund: supervisor}")
    assert _problems(policies_copy) == (
        "refunds.yaml:35:6: error[PS001]: invalid YAML: this line is not indented like the lines around it\n"
        "  hint: check this line's indentation against the line above: keys of one mapping start in the same column\n"
        "1 error(s), 0 warning(s)")
    assert "refunds.yaml:35:6: error[PS001]: YAML no válido: la sangría de esta línea no encaja" in _problems(policies_copy, "es")
    assert "pista: compare la sangría de esta línea con la de la línea de arriba" in _problems(policies_copy, "es")


def test_a_dedented_later_key_is_reported_on_its_own_line(policies_copy: Path) -> None:
    """`offer:` one space short of the keys above it is the line reported."""
    edit(policies_copy / "refunds.yaml", "      offer: [store_credit]\n      say:", "     offer: [store_credit]\n      say:")
    assert _problems(policies_copy).startswith("refunds.yaml:36:6: error[PS001]: invalid YAML: this line is not indented")


def test_a_tab_in_the_indentation_says_so(policies_copy: Path) -> None:
    """A tab gets a plain message and the hint that YAML indents with spaces."""
    edit(policies_copy / "refunds.yaml", "      offer: [store_credit]\n      say:", "\toffer: [store_credit]\n      say:")
    assert _problems(policies_copy, "es").startswith(
        "refunds.yaml:36:1: error[PS001]: YAML no válido: un tabulador en la sangría\n"
        "  pista: YAML sangra con espacios, no con tabuladores")


def test_a_key_written_at_the_wrong_level_says_where_it_belongs(policies_copy: Path) -> None:
    """`say:` dedented to the rule's level belongs under then:; `when:` inside then: belongs beside it."""
    refunds = policies_copy / "refunds.yaml"
    edit(refunds, "      say:\n        es: \"Los artículos", "    say:\n      es: \"Los artículos")
    edit(refunds, '        en: "Final-sale', '      en: "Final-sale')
    edit(refunds, "      handoff: fraud", "      handoff: fraud\n      when: {case.fault: company}")
    output = _problems(policies_copy, "es")
    assert 'refunds.yaml:45:5: error[PS004]: clave desconocida "say"\n  pista: "say" va bajo then:, con más sangría que él' in output
    assert 'error[PS004]: clave desconocida "when"\n  pista: "when" es de la regla: va al lado de then: (no debajo)' in output
    assert '"say" belongs under then:, indented below it' in _problems(policies_copy)


def test_messages_written_locale_first_get_the_shape_as_a_hint(policies_copy: Path) -> None:
    """`messages: {es: {cap_reached: ...}}` names the message-first shape instead of "unknown message"."""
    organization = policies_copy / "organization.yaml"
    line = len(organization.read_text().splitlines()) + 2  # the "es:" under the appended messages:
    organization.write_text(organization.read_text() + "messages:\n  es:\n    cap_reached: \"Ya usó su {cap}.\"\n")
    assert (f'organization.yaml:{line}:3: error[PS004]: unknown message "es"\n'
            "  hint: messages are written message first: messages: {cap_reached: {es: ...}}") in _problems(policies_copy)
    assert "pista: los mensajes se escriben con el mensaje primero: messages: {cap_reached: {es: ...}}" in _problems(policies_copy, "es")


def test_words_for_a_value_the_field_cannot_take_are_refused_where_written(policies_copy: Path) -> None:
    """A typo in value_labels would leave the real value without words: named at its line with the closest value."""
    organization = policies_copy / "organization.yaml"
    edit(organization, "      gold: {es: oro, en: gold}", "      goold: {es: oro, en: gold}")
    line = next(n for n, text in enumerate(organization.read_text().splitlines(), 1) if "goold:" in text)
    assert (f'organization.yaml:{line}:7: error[PS005]: "goold" is not a value of customer.tier\n'
            '  hint: did you mean "gold"?') in _problems(policies_copy)
    assert 'error[PS005]: "goold" no es un valor de customer.tier\n  pista: ¿quiso decir "gold"?' in _problems(policies_copy, "es")


def test_an_organisation_relabels_a_built_in_field_and_keeps_the_other_defaults(policies_copy: Path) -> None:
    policy_set = load_policy_set(policies_copy).policy_set
    assert policy_set is not None
    tier = policy_set.organization.fields["customer.tier"]
    assert tier.label["es"] == "nivel del cliente" and tier.value_labels["gold"]["es"] == "oro"
    fault = policy_set.organization.fields["case.fault"]  # not declared: the built-in words
    assert fault.value_labels["carrier"] == {"es": "el transportista", "en": "the carrier"}


def test_a_value_ending_in_a_newline_is_refused_where_written(policies_copy: Path) -> None:
    """A quoted "EUR\\n" or "90d\\n" passed a pattern whose $ stops before a final newline (found by a
    review): now each is refused at its line."""
    edit(policies_copy / "refunds.yaml", "    window: 90d", '    window: "90d\\n"')
    diagnostics = load_policy_set(policies_copy).diagnostics
    assert [(d.file.rsplit("/", 1)[-1], d.line) for d in diagnostics] == [("refunds.yaml", 17)], render_text(diagnostics)
    edit(policies_copy / "refunds.yaml", '    window: "90d\\n"', "    window: 90d")
    edit(policies_copy / "organization.yaml", "currency: EUR", 'currency: "EUR\\n"')
    diagnostics = load_policy_set(policies_copy).diagnostics
    assert ("organization.yaml", 4) in [(d.file.rsplit("/", 1)[-1], d.line) for d in diagnostics], render_text(diagnostics)
