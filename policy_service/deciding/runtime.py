"""A loaded policy revision ready to decide, and THE decision pipeline every caller goes through.

The pipeline has two steps, so a caller can learn who is asking before it says whose budgets count:
`PolicyRuntime.read` turns a JSON body into a typed request (validation, quantities: 422 material),
and `PolicyRuntime.decide` reads the cap usage the given `Budgets` hold and evaluates. The HTTP API,
approvals and outcomes, shadow, replay, the policy-test runner and the benchmarks all decide through
these two, so they cannot disagree.

Memos, all dying with the runtime (that is, with the revision): the engine's verdict per class of
facts (in `engine`, keyed on `FactPlan.class_key`: the values the rules read, numbers by where they
fall among the thresholds), and here the whole evaluation per (fired rules, situation), with the
limit tables and per-action preparations it is built from.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from policy_service.deciding.budgets import Budgets
from policy_service.deciding.compiler import CompiledRuleset, compile_rules
from policy_service.deciding.engine import RuleEngine
from policy_service.deciding.evaluation import Evaluation, Prepared, Situation, evaluate, prepare
from policy_service.deciding.limits import ActionLimits, compile_limits
from policy_service.deciding.request import DecisionRequest, build_request, require_countable_customer
from policy_service.model import PolicySet, Rule

EVALUATION_MEMO_SIZE = 65536  # whole evaluations kept per revision


class PolicyRuntime:
    def __init__(self, policy_set: PolicySet) -> None:
        self.policy_set = policy_set
        self.compiled: CompiledRuleset = compile_rules(policy_set.rules, policy_set.organization.fields)
        self._rules_by_key: dict[str, Rule] = {rule.key: rule for rule in policy_set.rules}
        self._rule_order = {rule.key: index for index, rule in enumerate(policy_set.rules)}
        self._engine: RuleEngine | None = None
        self._engine_guard = threading.Lock()
        self._evaluate = lru_cache(maxsize=EVALUATION_MEMO_SIZE)(self._evaluate_uncached)
        self._limit_tables = lru_cache(maxsize=4096)(self._limit_table_uncached)
        self._prepared = lru_cache(maxsize=16384)(self._prepare_uncached)

    @property
    def revision(self) -> str:
        return self.policy_set.revision

    @property
    def engine(self) -> RuleEngine:
        # Created on first use, so each gunicorn worker builds its own after the fork (docs/engine.md §11).
        if self._engine is None:
            with self._engine_guard:
                if self._engine is None:
                    self._engine = RuleEngine(self.compiled, self.revision)
        return self._engine

    def fired_rules(self, request: DecisionRequest) -> frozenset[str]:
        return self.engine.fired(request.values)

    def read(self, body: Any, *, trusted_tier: bool, counted: bool = False) -> DecisionRequest:
        """Step 1: a JSON body validated against this revision's organisation, as a typed request.
        `counted`: the decision will spend budgets from the log, so a proposal a per-customer cap
        counts must name its customer (policy tests and replay assume or replay usage instead).

        Raises marshmallow's ValidationError keyed by field (a 422 for the web layer)."""
        request = build_request(body, self.policy_set, trusted_tier=trusted_tier)
        if counted:
            require_countable_customer(request, self.policy_set)
        return request

    def decide(self, request: DecisionRequest, budgets: Budgets | None = None, *, tier: str | None = None,
               fired: frozenset[str] | None = None) -> Evaluation:
        """Step 2: the cap usage `budgets` hold for this request (none given: no usage), then the
        evaluation, as the agent of `tier` (an approver) when given. Budgets are the only way usage
        reaches an evaluation. `fired`: the rules `fired_rules(request)` gave, when the caller matched
        them before taking the chain lock (the match reads the request's values alone, never usage or tier)."""
        usage = request.usage
        if budgets is not None:
            usage = budgets.usage(self.policy_set, request.action, request.agent_id) or usage
        order_value = request.values.get("case.order_value")
        situation = Situation(  # built from the request's fields, not a copy of it: this runs under the chain lock
            tier=request.tier if tier is None else tier, action=request.action, amount=request.amount,
            order_value=order_value if isinstance(order_value, int) else None,
            usage=tuple(sorted((key, amount, count) for key, (amount, count) in usage.items())),
            locale=request.locale,
        )
        return self._evaluate(self.fired_rules(request) if fired is None else fired, situation)

    def _evaluate_uncached(self, fired: frozenset[str], situation: Situation) -> Evaluation:
        return evaluate(self.policy_set, self._prepared(fired, situation.action), situation)

    def ordered_rules(self, fired: frozenset[str]) -> list[Rule]:
        """Fired rules in path order, then file order (the order words and offers are reported in)."""
        return [self._rules_by_key[key] for key in sorted(fired, key=self._rule_order.__getitem__)]

    def limit_table(self, fired: frozenset[str]) -> dict[str, ActionLimits]:
        return self._limit_tables(fired)

    def _limit_table_uncached(self, fired: frozenset[str]) -> dict[str, ActionLimits]:
        return compile_limits(self.policy_set, self.ordered_rules(fired))

    def _prepare_uncached(self, fired: frozenset[str], action_id: str) -> Prepared:
        return prepare(self.policy_set, self.ordered_rules(fired), action_id, self._limit_tables(fired))

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()

