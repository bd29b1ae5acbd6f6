"""A rule in words, for people who do not read YAML: "Si la compra tiene más de 30 días: el reembolso lo
autoriza un Supervisor; ofrecer crédito en tienda". Built from the rule's conditions and effects with the
organisation's labels (tiers, actions, teams, fields and their values) and amounts written for the
locale, in Spanish or English.

Plain Python over the policy model; it decides nothing and the words are a reading aid: the YAML beside
them is the policy. A field is said by the phrases below when the organisation kept the built-in words,
else by its own label ("la categoría del producto"), else by its id.
"""

from __future__ import annotations

from babel.numbers import format_decimal

from policy_service.deciding.words import action_label, format_amount, label
from policy_service.model import BUILTIN_FIELDS, PolicySet, Rule
from policy_service.model.conditions import All, Any, Condition, Not, Test

__all__ = ["rule_sentence"]

# Numeric fields said as a clause around the number: (before, after) the amount, per language.
CLAUSES: dict[str, dict[str, tuple[str, str]]] = {
    "case.days_since_purchase": {"es": ("la compra tiene", "días"), "en": ("the purchase is", "days old")},
    "case.days_late": {"es": ("el envío lleva", "días de retraso"), "en": ("the delivery is", "days late")},
    "case.contact_count": {"es": ("el cliente ha contactado", "veces"), "en": ("the customer has been in touch", "times")},
    "customer.tenure_months": {"es": ("el cliente lleva", "meses"), "en": ("the customer has been with us", "months")},
    "customer.open_invoices": {"es": ("el cliente tiene", "facturas abiertas"), "en": ("the customer has", "open invoices")},
}
# Other built-in fields by a noun phrase with its article.
NOUNS: dict[str, dict[str, str]] = {
    "customer.tier": {"es": "el nivel del cliente", "en": "the customer's tier"},
    "customer.flags": {"es": "las marcas del cliente", "en": "the customer's flags"},
    "customer.lifetime_value": {"es": "el valor del cliente", "en": "the customer's lifetime value"},
    "case.reason": {"es": "el motivo", "en": "the reason"},
    "case.channel": {"es": "el canal", "en": "the channel"},
    "case.fault": {"es": "la responsabilidad", "en": "the fault"},
    "case.order_value": {"es": "el valor del pedido", "en": "the order value"},
    "case.is_final_sale": {"es": "la venta final", "en": "final sale"},
    "agent.tier": {"es": "el nivel del agente", "en": "the agent's tier"},
    "agent.team": {"es": "el equipo del agente", "en": "the agent's team"},
    "agent.kind": {"es": "el tipo de agente", "en": "the kind of agent"},
    "proposal.action": {"es": "la acción propuesta", "en": "the proposed action"},
    "proposal.amount": {"es": "el importe propuesto", "en": "the proposed amount"},
}
# Comparisons before an amount; a negated one ("not_gt") is said as "no ... más de".
COMPARE = {"es": {"gt": "más de", "gte": "al menos", "lt": "menos de", "lte": "como mucho"},
           "en": {"gt": "more than", "gte": "at least", "lt": "less than", "lte": "at most"}}
WORDS = {
    "es": {"if": "Si", "always": "Siempre", "and": " y ", "or": " o ", "not": "no", "is": "es", "is_not": "no es",
           "one_of": "es", "none_of": "no es", "contains": "incluye", "lacks": "no incluye", "given": "consta",
           "not_given": "no consta", "true": "sí", "false": "no"},
    # a plural noun ("las marcas del cliente") takes plural verbs
    "es+": {"is": "son", "is_not": "no son", "one_of": "son", "none_of": "no son", "contains": "incluyen",
            "lacks": "no incluyen", "given": "constan", "not_given": "no constan"},
    "en": {"if": "If", "always": "Always", "and": " and ", "or": " or ", "not": "not", "is": "is", "is_not": "is not",
           "one_of": "is", "none_of": "is not", "contains": "includes", "lacks": "does not include", "given": "is given",
           "not_given": "is not given", "true": "yes", "false": "no"},
    "en+": {"is": "are", "is_not": "are not", "one_of": "are", "none_of": "are not", "contains": "include",
            "lacks": "do not include", "given": "are given", "not_given": "are not given"},
}


def rule_sentence(rule: Rule, policy_set: PolicySet, locale: str) -> str:
    """The rule as one sentence in `locale`'s language: its condition, a colon, its effects."""
    lang = "es" if locale.startswith("es") else "en"
    words = WORDS[lang]
    condition = _condition(rule.when, policy_set, locale, lang, top=True)
    effects = "; ".join(_effects(rule, policy_set, locale, lang)) or "—"
    return f"{words['if']} {condition}: {effects}" if condition else f"{words['always']}: {effects}"


def _condition(condition: Condition, policy_set: PolicySet, locale: str, lang: str, top: bool = False) -> str:
    words = WORDS[lang]
    if isinstance(condition, All | Any):
        parts = [_condition(item, policy_set, locale, lang) for item in condition.items]
        joined = (words["and"] if isinstance(condition, All) else words["or"]).join(p for p in parts if p)
        return joined if top or len(parts) < 2 else f"({joined})"
    if isinstance(condition, Not):
        return f"{words['not']} ({_condition(condition.item, policy_set, locale, lang, top=True)})"
    return _test(condition, policy_set, locale, lang)


def _test(test: Test, policy_set: PolicySet, locale: str, lang: str) -> str:
    words, op = WORDS[lang], test.op
    negated = op.startswith("not_") and op[4:] in COMPARE[lang]
    compare = op[4:] if negated else op
    if compare in COMPARE[lang]:
        amount = _value(test.field, test.value, policy_set, locale, lang)
        if test.field in CLAUSES:
            before, after = CLAUSES[test.field][lang]
            said = f"{before} {COMPARE[lang][compare]} {amount} {after}"
        else:
            noun, verbs = _noun(test.field, policy_set, locale, lang)
            said = f"{noun} {verbs['is']} {COMPARE[lang][compare]} {amount}"
        return f"{words['not']} ({said})" if negated else said
    noun, verbs = _noun(test.field, policy_set, locale, lang)
    if op == "exists":
        return f"{noun} {verbs['given'] if test.value else verbs['not_given']}"
    verb = {"eq": "is", "ne": "is_not", "in": "one_of", "not_in": "none_of", "contains": "contains",
            "not_contains": "lacks"}.get(op)
    if verb is None:  # an operator this table does not know: its own name
        return f"{noun} {op} {_value(test.field, test.value, policy_set, locale, lang)}"
    return f"{noun} {verbs[verb]} {_value(test.field, test.value, policy_set, locale, lang)}"


def _noun(field: str, policy_set: PolicySet, locale: str, lang: str) -> tuple[str, dict[str, str]]:
    """The field as the subject of a clause, and the verbs that agree with it (singular or plural)."""
    spec = policy_set.organization.fields.get(field)
    builtin = BUILTIN_FIELDS.get(field)
    own = spec is not None and spec.label and (builtin is None or spec.label != builtin.label)
    if field in NOUNS and not own:
        phrase = NOUNS[field][lang]
    elif spec is not None and spec.label:
        name = label(spec.label, locale, policy_set.organization, field)
        phrase = f"{_article(name, plural=_plural(name, lang))} {name}" if lang == "es" else f"the {name}"
    else:
        return field, WORDS[lang]
    return phrase, {**WORDS[lang], **WORDS[lang + "+"]} if _plural(phrase, lang) else WORDS[lang]


def _plural(phrase: str, lang: str) -> bool:
    """Whether a noun phrase is plural, by its head noun: Spanish puts it first (after an article),
    English last ("the customer's flags")."""
    words = [w for w in phrase.lower().split() if w not in ("el", "la", "los", "las", "the")]
    if not words:
        return False
    head = words[0] if lang == "es" else words[-1]
    return head.endswith("s") and not head.endswith("ss")


def _value(field: str, value: object, policy_set: PolicySet, locale: str, lang: str) -> str:
    if isinstance(value, tuple):
        return WORDS[lang]["or"].join(_value(field, v, policy_set, locale, lang) for v in value)
    if isinstance(value, bool):
        return WORDS[lang]["true" if value else "false"]
    org = policy_set.organization
    spec = org.fields.get(field) or BUILTIN_FIELDS.get(field)
    if isinstance(value, str):  # a value in the organisation's words: actions, tiers, or the field's own labels
        if field == "proposal.action" and value in org.actions:
            return action_label(org.actions[value], locale, org)
        if field == "agent.tier" and any(t.id == value for t in org.tiers):
            return label(org.tier(value).label, locale, org, value)
        if field == "agent.team" and value in org.teams:
            return label(org.teams[value].label, locale, org, value)
        return label(spec.value_labels.get(value, {}), locale, org, value) if spec is not None else value
    if isinstance(value, int) and spec is not None and spec.type == "money":
        return format_amount(policy_set.organization, "money", value, locale) or str(value)
    if isinstance(value, int):
        return format_decimal(value, locale=locale.replace("-", "_"))
    return str(value)


def _effects(rule: Rule, policy_set: PolicySet, locale: str, lang: str) -> list[str]:
    org, then, es = policy_set.organization, rule.then, lang == "es"

    def act(action_id: str) -> str:
        action = org.actions.get(action_id)
        return action_label(action, locale, org) if action else action_id

    def tier(tier_id: str) -> str:
        found = next((t for t in org.tiers if t.id == tier_id), None)
        return label(found.label, locale, org, tier_id) if found else tier_id

    def tier_in_sentence(tier_id: str) -> str:
        """A tier after an article reads in lower case ("lo autoriza un supervisor"); an acronym stays."""
        name = tier(tier_id)
        return name[:1].lower() + name[1:] if name[1:2].islower() else name

    def amount(action_id: str, value: int) -> str:
        action = org.actions.get(action_id)
        return format_amount(org, action.unit if action else "money", value, locale) or str(value)

    out = []
    factors = {format_decimal(f, locale=locale.replace("-", "_")) for f in then.scale.values()}
    if len(factors) == 1 and len(then.scale) > 1:  # a bare `scale: 1.5` over every action of the policy
        out.append(f"{'los límites se multiplican por' if es else 'limits are multiplied by'} {factors.pop()}")
    else:
        out += [f"{'el límite de' if es else 'the limit for'} {act(a)} × {format_decimal(f, locale=locale.replace('-', '_'))}"
                for a, f in then.scale.items()]
    for action_id, limits in then.set_limits.items():
        for tier_id, value in limits.items():
            action = org.actions.get(action_id)
            if action is not None and action.unit == "flag":  # a yes/no action has no amount to reach
                out.append(f"{act(action_id)}: {tier(tier_id)} {('puede concederlo' if es else 'may grant it') if value else ('no puede' if es else 'may not')}")
            else:
                out.append(f"{act(action_id)}: {tier(tier_id)} {'hasta' if es else 'up to'} {amount(action_id, value)}")
    for action_id in then.cap_at_order_value:
        out.append(f"{act(action_id)} {'hasta el valor del pedido' if es else 'up to the order value'}")
    for action_id, tier_id in then.require_tier.items():
        if es:
            name = act(action_id)
            out.append(f"{_article(name)} {name} {'la' if _article(name) == 'la' else 'lo'} autoriza un {tier_in_sentence(tier_id)}")
        else:
            out.append(f"a {act(action_id)} needs a {tier_in_sentence(tier_id)}")
    for action_id in then.forbid:
        out.append(f"{act(action_id)}: {'no se permite' if es else 'not allowed'}")
    if then.offer:
        out.append(f"{'ofrecer' if es else 'offer'} {(' y ' if es else ' and ').join(act(a) for a in then.offer)}")
    if then.handoff:
        team = org.teams.get(then.handoff)
        name = label(team.label, locale, org, then.handoff) if team else then.handoff
        out.append(f"{'pasar el caso a' if es else 'hand the case to'} {name}")
    if then.conditions:
        out.append(label(then.conditions, locale, org, ""))
    return [part for part in out if part]


def _article(name: str, plural: bool = False) -> str:
    """Spanish "el"/"la" ("los"/"las") for a label: the organisation's labels carry no gender, and nouns
    in -a, -ión and -ón (-as, -iones) are feminine often enough for a reading aid ("la prórroga",
    "la condonación", "las facturas abiertas")."""
    head = name.split()[0].lower() if name.split() else name
    if plural:
        return "las" if head.endswith(("as", "iones")) else "los"
    return "la" if head.endswith(("a", "ión", "ón")) else "el"
