"""A loaded policy revision ready to decide: policy set + compiled ruleset + engine + memo.

The HTTP API, the CLI's test runner and the benchmarks all decide through `PolicyRuntime.decide`, so
they cannot disagree. Two memo levels: the engine's verdict per fact key (in `engine`), and the whole
evaluation per (fired rules, situation) here; both die with the runtime, that is, with the revision.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from policy_service.deciding.compiler import CompiledRuleset, compile_rules
from policy_service.deciding.engine import RuleEngine
from policy_service.deciding.evaluation import Evaluation, Prepared, Situation, evaluate, prepare
from policy_service.deciding.limits import ActionLimits, compile_limits
from policy_service.authoring.loader import LoadResult, load_policy_set
from policy_service.model import PolicySet, Rule
from policy_service.deciding.request import DecisionRequest

MEMO_SIZE = 65536


class PolicyRuntime:
    def __init__(self, policy_set: PolicySet) -> None:
        self.policy_set = policy_set
        self.compiled: CompiledRuleset = compile_rules(policy_set.rules, policy_set.organization.fields)
        self._rules_by_key: dict[str, Rule] = {rule.key: rule for rule in policy_set.rules}
        self._rule_order = {rule.key: index for index, rule in enumerate(policy_set.rules)}
        self._engine: RuleEngine | None = None
        self._engine_guard = threading.Lock()
        self._evaluate = lru_cache(maxsize=MEMO_SIZE)(self._evaluate_uncached)
        self._limit_tables = lru_cache(maxsize=4096)(self._limit_table_uncached)
        self._prepared = lru_cache(maxsize=16384)(self._prepare_uncached)

    @property
    def revision(self) -> str:
        return self.policy_set.revision

    @property
    def engine(self) -> RuleEngine:
        # Created on first use, so each gunicorn worker builds its own after the fork (ENGINE_NOTES 11).
        if self._engine is None:
            with self._engine_guard:
                if self._engine is None:
                    self._engine = RuleEngine(self.compiled, self.revision)
        return self._engine

    def fired_rules(self, request: DecisionRequest) -> frozenset[str]:
        return self.engine.fired(request.values)

    def decide(self, request: DecisionRequest) -> Evaluation:
        order_value = request.values.get("case.order_value")
        situation = Situation(
            tier=request.tier, action=request.action, amount=request.amount,
            order_value=order_value if isinstance(order_value, int) else None,
            usage=tuple(sorted((key, amount, count) for key, (amount, count) in request.usage.items())),
            locale=request.locale,
        )
        return self._evaluate(self.fired_rules(request), situation)

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


def load_runtime(directory: Path | str) -> tuple[PolicyRuntime | None, LoadResult]:
    result = load_policy_set(directory)
    return (PolicyRuntime(result.policy_set) if result.policy_set else None), result
