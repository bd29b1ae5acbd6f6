"""A rule in words (policy_service/service/rule_words.py), from the example policies."""

from __future__ import annotations

import pytest
from helpers import EXAMPLE_POLICIES

from policy_service.model import PolicySet
from policy_service.service.reloading import load_runtime
from policy_service.service.rule_words import rule_sentence


@pytest.fixture(scope="module")
def policy_set() -> PolicySet:
    runtime, _ = load_runtime(EXAMPLE_POLICIES)
    assert runtime is not None
    return runtime.policy_set


def _said(policy_set: PolicySet, key: str, locale: str) -> str:
    return rule_sentence(next(r for r in policy_set.rules if r.key == key), policy_set, locale)


def test_a_rule_is_its_condition_and_its_effects_with_the_organisations_labels(policy_set: PolicySet) -> None:
    """The contract's own example, in Spanish and English."""
    assert _said(policy_set, "refunds/outside_return_window", "es") == (
        "Si la compra tiene más de 30 días: el reembolso lo autoriza un supervisor; ofrecer crédito en tienda")
    assert _said(policy_set, "refunds/outside_return_window", "en") == (
        "If the purchase is more than 30 days old: a refund needs a supervisor; offer store credit")


def test_money_in_a_condition_and_a_limit_is_written_for_the_locale(policy_set: PolicySet) -> None:
    """Amounts in conditions and set limits read as the locale writes money; an `or` of tests reads as one."""
    assert "el valor del cliente es al menos 5.000,00\u00a0€" in _said(policy_set, "fees/loyal_customer", "es")
    assert "Virtual assistant up to €10.00" in _said(policy_set, "deliveries/very_late", "en")


def test_a_yes_no_action_never_reads_as_an_amount(policy_set: PolicySet) -> None:
    """set_limits on a flag action says who may grant it, not "up to 1"."""
    assert _said(policy_set, "extensions/gold_free_shipping_for_bot", "en").endswith("free shipping: Virtual assistant may grant it")


def test_forbid_handoff_and_feminine_labels(policy_set: PolicySet) -> None:
    """Forbidden actions, the team a case goes to by its label, and "la" before a feminine action."""
    assert _said(policy_set, "refunds/fraud_review", "es").endswith(
        "reembolso: no se permite; crédito en tienda: no se permite; pasar el caso a Prevención de fraude")
    assert "la condonación de cargo la autoriza un supervisor" in _said(policy_set, "fees/repeated_late_payer", "es")


def test_values_read_in_the_organisations_words_and_a_plural_subject_takes_a_plural_verb(policy_set: PolicySet) -> None:
    """The trial's slips: raw ids ("late_delivery"), "las marcas del cliente incluye", "un Supervisor"."""
    assert _said(policy_set, "deliveries/company_fault_doubles", "es").startswith(
        "Si la responsabilidad es la empresa y el motivo es entrega con retraso o paquete perdido o artículo dañado:")
    assert _said(policy_set, "extensions/gold_free_shipping_for_bot", "es").startswith("Si el nivel del cliente es oro o platino:")
    assert _said(policy_set, "refunds/fraud_review", "es").startswith("Si las marcas del cliente incluyen fraud_review:")
    assert _said(policy_set, "refunds/fraud_review", "en").startswith("If the customer's flags include fraud_review:")
    assert _said(policy_set, "deliveries/ai_never_reships", "en").startswith("If the kind of agent is AI assistant:")
