"""Evaluation (docs/contract.md §4) through PolicyRuntime.decide: properties and worked examples."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from policy_service.deciding.limits import LimitContext, effective_limit
from policy_service.deciding.request import build_request
from policy_service.deciding.runtime import PolicyRuntime

TIERS = ["virtual_agent", "agent", "senior_agent", "supervisor", "manager"]
MONEY_ACTIONS = ["refund", "store_credit", "delivery_compensation", "fee_waiver"]

requests = st.fixed_dictionaries(
    {"agent": st.fixed_dictionaries({"tier": st.sampled_from(TIERS)})},
    optional={
        "customer": st.fixed_dictionaries({}, optional={
            "tier": st.sampled_from(["standard", "gold", "platinum"]),
            "tenure_months": st.integers(0, 120),
            "lifetime_value": st.integers(0, 10000),
            "flags": st.lists(st.sampled_from(["fraud_review", "vip"]), max_size=2),
        }),
        "case": st.fixed_dictionaries({}, optional={
            "days_since_purchase": st.integers(0, 90),
            "order_value": st.integers(1, 3000),
            "fault": st.sampled_from(["company", "carrier", "customer", "unknown"]),
            "reason": st.sampled_from(["late_delivery", "lost_parcel", "billing_error", "changed_mind", "hardship"]),
        }),
    },
)


def decide(runtime: PolicyRuntime, body: dict[str, Any]) -> Any:
    request = build_request(body, runtime.policy_set, trusted_tier=True)
    return runtime.decide(request)


@settings(max_examples=300, deadline=None)
@given(body=requests, action=st.sampled_from(MONEY_ACTIONS), amount=st.integers(1, 300000))
def test_raising_the_amount_never_turns_escalate_into_allow(runtime: PolicyRuntime, body: dict[str, Any], action: str, amount: int) -> None:
    """If an amount escalates, any larger amount does not become allowed."""
    first = decide(runtime, {**body, "proposal": {"action": action, "amount": str(amount / 100)}})
    larger = decide(runtime, {**body, "proposal": {"action": action, "amount": str((amount + 1000) / 100)}})
    if first.outcome == "escalate":
        assert larger.outcome != "allow"


@settings(max_examples=200, deadline=None)
@given(body=requests, action=st.sampled_from(MONEY_ACTIONS + ["payment_extension", "free_shipping"]))
def test_a_higher_tier_never_gets_less_than_a_lower_one(runtime: PolicyRuntime, body: dict[str, Any], action: str) -> None:
    """With the example matrix (limits rise with tiers), effective limits never fall as tiers rise."""
    request = build_request({**body, "proposal": {"action": "refund", "amount": "1"}}, runtime.policy_set, trusted_tier=True)
    table = runtime.limit_table(runtime.fired_rules(request))
    order_value = request.values.get("case.order_value")
    ctx = LimitContext(runtime.policy_set, table, request.tier, order_value if isinstance(order_value, int) else None, {})
    limits = [effective_limit(ctx, action, tier) for tier in TIERS]
    granted = [limit for limit in limits if limit is not None]
    assert granted == sorted(granted)
    first = next((i for i, limit in enumerate(limits) if limit is not None), len(limits))
    assert all(limit is not None for limit in limits[first:])


@settings(max_examples=100, deadline=None)
@given(body=requests, amount=st.integers(1, 100000))
def test_the_same_input_gives_the_same_decision(runtime: PolicyRuntime, body: dict[str, Any], amount: int) -> None:
    """A fresh runtime (no memo) and the long-lived one agree (docs/contract.md §4 step 6)."""
    full = {**body, "proposal": {"action": "refund", "amount": str(amount / 100)}}
    fresh = PolicyRuntime(runtime.policy_set)
    assert decide(fresh, full) == decide(runtime, full)
    fresh.close()


def test_spec_worked_example(runtime: PolicyRuntime) -> None:
    """The docs/contract.md §5 example: a gold customer, 45 days, 120 € refund by an agent."""
    result = decide(runtime, {
        "agent": {"id": "ag-101"}, "customer": {"id": "cu-88", "tier": "gold"},
        "case": {"days_since_purchase": 45, "order_value": 180},
        "proposal": {"action": "refund", "amount": "120.00", "currency": "EUR"}, "locale": "es",
    })
    assert result.outcome == "escalate" and result.escalation.to_tier == "supervisor"
    assert [(o.action, o.max) for o in result.options] == [("store_credit", 11250)]
    assert result.options[0].say == "Puedo ofrecerle ahora mismo hasta 112,50\u00a0€ de crédito en tienda."
    assert result.say[0].startswith("Como la compra tiene más de 30 días, puedo abonarle 112,50\u00a0€")


def test_money_is_compared_to_the_minor_unit(runtime: PolicyRuntime) -> None:
    """50.00 against a limit of 50 is allowed; 50.01 is not; 10.500 is 10.50."""
    base = {"agent": {"tier": "agent"}}
    assert decide(runtime, {**base, "proposal": {"action": "refund", "amount": "50.00"}}).outcome == "allow"
    assert decide(runtime, {**base, "proposal": {"action": "refund", "amount": "50.01"}}).outcome == "escalate"
    assert decide(runtime, {**base, "proposal": {"action": "refund", "amount": "10.500"}}).amount == 1050


def test_es_mx_reads_es_texts_and_writes_money_as_mexico_does(runtime: PolicyRuntime) -> None:
    """Texts fall back to the organisation's `es`; money follows the full locale (CLDR's es-MX)."""
    result = decide(runtime, {"agent": {"tier": "agent"}, "proposal": {"action": "refund", "amount": "1234.5"}, "locale": "es-MX"})
    assert result.locale == "es-MX"
    assert result.say[-1] == "Su reembolso de EUR\u00a01,234.50 necesita la aprobación del nivel Gerente; la solicito ahora mismo."


def test_an_organisation_may_declare_regional_locales_and_write_texts_under_either(policies_copy: Any) -> None:
    """`locales: [es-MX, en]` with MXN: texts written under `es` and under `es-MX` both load and both
    resolve; a bare `es` request is written as the organisation's Mexico writes it."""
    from policy_service.service.reloading import load_runtime

    org = policies_copy / "organization.yaml"
    org.write_text(org.read_text().replace("currency: EUR", "currency: MXN").replace("locales: [es, en]", "locales: [es-MX, en]"))
    refunds = policies_copy / "refunds.yaml"
    refunds.write_text(refunds.read_text().replace('es: "Los artículos de venta final', 'es-MX: "Los artículos de venta final'))
    loaded, result = load_runtime(policies_copy)
    assert loaded is not None and result.diagnostics == (), result.diagnostics
    late = decide(loaded, {"agent": {"tier": "agent"}, "case": {"days_since_purchase": 45},
                           "proposal": {"action": "refund", "amount": "1234.5"}, "locale": "es-MX"})
    assert late.locale == "es-MX"
    assert late.say[0] == ("Como la compra tiene más de 30 días, puedo abonarle $75.00 en crédito en tienda ahora mismo; "
                           "el reembolso lo autoriza un supervisor.")
    final = decide(loaded, {"agent": {"tier": "agent"}, "case": {"attributes": {"is_final_sale": True}},
                            "proposal": {"action": "refund", "amount": "10"}, "locale": "es"})
    assert final.locale == "es-MX" and final.say[0].startswith("Los artículos de venta final")
    assert final.options[0].say == "Puedo ofrecerle ahora mismo hasta $75.00 de crédito en tienda."


def test_unknown_locale_uses_the_organisation_default(runtime: PolicyRuntime) -> None:
    result = decide(runtime, {"agent": {"tier": "agent"}, "proposal": {"action": "refund", "amount": 10}, "locale": "fr"})
    assert result.locale == "es"


def test_english_formats_money_the_english_way(runtime: PolicyRuntime) -> None:
    result = decide(runtime, {"agent": {"tier": "agent"}, "proposal": {"action": "refund", "amount": "1234.5"}, "locale": "en"})
    assert "€1,234.50" in result.say[-1]


def test_a_deny_is_never_a_bare_refusal(runtime: PolicyRuntime) -> None:
    """Even with nothing to offer, the words say what happens next."""
    result = decide(runtime, {"agent": {"tier": "agent"}, "customer": {"flags": ["fraud_review"]},
                              "proposal": {"action": "store_credit", "amount": 10000}})
    assert result.say and all(text.strip() for text in result.say)


def test_the_same_sentence_is_never_said_twice(policies_copy: Any) -> None:
    """Two rules that say the same thing (or a rule that repeats the standard sentence) say it once, in order."""
    from policy_service.service.reloading import load_runtime

    path = policies_copy / "refunds.yaml"
    repeated = ('      say:\n        es: "Los artículos de venta final no admiten reembolso, salvo error nuestro; '
                'sí puedo ofrecerle crédito en tienda."\n')
    path.write_text(path.read_text().replace("rules:\n", "rules:\n  - id: final_sale_again\n    when: {case.is_final_sale: true}\n"
                                             "    then:\n      forbid: [refund]\n" + repeated, 1))
    loaded, result = load_runtime(policies_copy)
    assert loaded is not None, result.diagnostics
    said = decide(loaded, {"agent": {"tier": "agent"}, "case": {"attributes": {"is_final_sale": True}},
                           "proposal": {"action": "refund", "amount": "10.00"}, "locale": "es"}).say
    assert said[0].startswith("Los artículos de venta final") and len(said) == len(set(said)) == 2, said


def test_a_rule_speaks_only_to_the_actions_its_limits_name(runtime: PolicyRuntime) -> None:
    """outside_return_window requires a supervisor for refunds: a store-credit proposal of the same policy
    hears nothing of it, while its limit still applies to refunds; a rule that limits nothing in particular
    (return_required: only conditions) still speaks to every action of its policy."""
    case = {"days_since_purchase": 45, "reason": "changed_mind"}
    credit = decide(runtime, {"agent": {"tier": "agent"}, "case": case,
                              "proposal": {"action": "store_credit", "amount": "30.00"}, "locale": "es"})
    assert credit.outcome == "allow"
    assert not any("30 días" in text for text in credit.say), credit.say
    assert "refunds/outside_return_window" not in credit.rules
    assert "refunds/outside_return_window" in credit.fired  # it fired; it was not reported
    assert credit.conditions == ("con devolución del producto en 14 días",)
    refund = decide(runtime, {"agent": {"tier": "agent"}, "case": case,
                              "proposal": {"action": "refund", "amount": "30.00"}, "locale": "es"})
    assert refund.outcome == "escalate" and refund.escalation.to_tier == "supervisor"
    assert refund.say[0].startswith("Como la compra tiene más de 30 días")
    assert "refunds/outside_return_window" in refund.rules


def test_alternatives_are_the_ones_the_policy_lists(runtime: PolicyRuntime, policies_copy: Any) -> None:
    """refunds lists `store_credit: []`: store credit beyond the agent's limit offers what fits of it and
    never a cash refund; without the map, the policy's other actions are offered as before."""
    from policy_service.service.reloading import load_runtime

    body = {"agent": {"tier": "agent"}, "proposal": {"action": "store_credit", "amount": "100.00"}, "locale": "es"}
    listed = decide(runtime, body)
    assert listed.outcome == "escalate"
    assert [(o.action, o.max) for o in listed.options] == [("store_credit", 7500)]
    path = policies_copy / "refunds.yaml"
    text = path.read_text()
    path.write_text(text[:text.index("alternatives:")])
    unlisted, result = load_runtime(policies_copy)
    assert unlisted is not None, result.diagnostics
    assert [(o.action, o.max) for o in decide(unlisted, body).options] == [("store_credit", 7500), ("refund", 5000)]


def test_a_cap_that_keeps_the_proposal_from_allow_is_binding_and_named(runtime: PolicyRuntime) -> None:
    """A 40 € refund is within the agent's 50 € but the customer's 90-day goodwill has 20 € left: that cap
    binds (`binding`), the words say so and what remains; the agent's daily cap does not bind."""
    from policy_service.deciding.budgets import Budgets

    body = {"agent": {"tier": "agent"}, "customer": {"id": "cu-1"}, "proposal": {"action": "refund", "amount": "40.00"}, "locale": "es"}
    used = Budgets.assuming({"refunds/customer_goodwill_90d": (28000, 1)})
    result = runtime.decide(build_request(body, runtime.policy_set, trusted_tier=True), used)
    assert result.outcome == "escalate" and result.escalation.to_tier == "manager"
    assert [(c.key, c.binding) for c in result.caps] == [("refunds/customer_goodwill_90d", True), ("refunds/agent_daily_refunds", False)]
    assert "Este cliente ya ha usado su margen de cortesía de 90 días: quedan 20,00\u00a0€." in result.say  # by its label
    fresh = runtime.decide(build_request(body, runtime.policy_set, trusted_tier=True))
    assert fresh.outcome == "allow" and not any(c.binding for c in fresh.caps)
    assert not any("ya ha usado" in text for text in fresh.say)
    # Beyond the agent's own limit, the cap is not what stops it: nothing binds.
    big = runtime.decide(build_request({**body, "proposal": {"action": "refund", "amount": "60.00"}}, runtime.policy_set, trusted_tier=True), used)
    assert not any(c.binding for c in big.caps)


def test_a_labelled_cap_used_up_in_number_is_named_by_its_label(runtime: PolicyRuntime) -> None:
    """extensions_per_customer_180d carries a label; with both extensions used it names it, in each language."""
    from policy_service.deciding.budgets import Budgets

    used = Budgets.assuming({"extensions/extensions_per_customer_180d": (0, 2)})
    for locale, sentence in (("es", "Este cliente ya ha usado su margen de prórrogas de 180 días todas las veces que permite."),
                             ("en", "This customer has already used their 180-day extension allowance as many times as it allows.")):
        body = {"agent": {"tier": "agent"}, "customer": {"id": "cu-1"}, "proposal": {"action": "payment_extension", "amount": 5}, "locale": locale}
        result = runtime.decide(build_request(body, runtime.policy_set, trusted_tier=True), used)
        assert result.outcome == "escalate" and result.caps[0].binding
        assert sentence in result.say, result.say


def test_an_action_label_may_carry_the_form_a_sentence_needs(runtime: PolicyRuntime, policies_copy: Any) -> None:
    """reshipment's label gives its `a` form: the offer reads "un reenvío sin coste", "a free reshipment";
    a plain label (free_shipping) still reads as before."""
    body = {"agent": {"tier": "agent"}, "case": {"reason": "late_delivery", "fault": "customer"},
            "proposal": {"action": "delivery_compensation", "amount": "100.00"}}
    said = {locale: [o.say for o in decide(runtime, {**body, "locale": locale}).options if o.action == "reshipment"]
            for locale in ("es", "en")}
    assert said == {"es": ["Puedo ofrecerle ahora mismo un reenvío sin coste."], "en": ["I can offer you a free reshipment right now."]}
    young = decide(runtime, {"agent": {"tier": "agent"}, "customer": {"tenure_months": 1},
                             "proposal": {"action": "payment_extension", "amount": 10}, "locale": "es"})
    assert "Puedo ofrecerle ahora mismo envío gratis." in [o.say for o in young.options]


def test_a_cap_the_proposal_alone_exceeds_says_its_maximum_not_that_it_was_used(runtime: PolicyRuntime) -> None:
    """A supervisor's 450 € refund for a customer who has used nothing of the 300 € goodwill: the words say
    what the cap allows, never "ya ha usado su …" (owner trial), in Spanish and English."""
    body = {"agent": {"tier": "supervisor"}, "customer": {"id": "cu-1"}, "case": {"order_value": 900},
            "proposal": {"action": "refund", "amount": "450.00"}, "locale": "es"}
    result = runtime.decide(build_request(body, runtime.policy_set, trusted_tier=True))
    assert result.outcome == "escalate" and [c.key for c in result.caps if c.binding] == ["refunds/customer_goodwill_90d"]
    assert "Su margen de cortesía de 90 días permite como máximo 300,00\u00a0€." in result.say
    assert not any("ya ha usado" in text for text in result.say)
    english = runtime.decide(build_request({**body, "locale": "en"}, runtime.policy_set, trusted_tier=True))
    assert "Your 90-day goodwill allowance allows at most €300.00." in english.say
