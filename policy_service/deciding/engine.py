"""The only module that imports durable_rules. It turns a fact into the set of rules that fired.

Guard-rails (numbers refer to docs/engine.md, which names each one's tests):
1. One process-wide lock around every call into the engine: concurrent calls segfault.
2, 6, 9, 11. We drive the engine's C API directly (create_ruleset, assert_fact,
   start_action_for_state, complete_and_start_action, delete_state, delete_ruleset) instead of
   `durable.engine.Host`. That is a design change from the notes' subclass-the-Host advice, made
   because the Host is where those four problems live: no Host means no dispatcher threads to steal a
   result (2), no Python rule actions whose exceptions could be swallowed (6: a rule's only "action" is
   its name in the result), no definition mutated in place (9: we hand the engine a fresh JSON string),
   nothing lost at fork (11). It also halves the cost per call. The engine is created lazily, per
   worker, after gunicorn forks.
3. Facts (`assert_fact`), never events, so every matching rule fires; one fresh session id per call.
4. The session is always deleted (`finally`), and every ruleset has a catch-all rule, so every fact is
   handled and no session is ever left behind. A result without the catch-all is a lost result: we
   raise instead of answering with a partial verdict.
5. Rulesets are named `policies@<revision>#<n>` and dropped with the engine's own `delete_ruleset`
   when their engine is garbage-collected, so reloads do not leak.
7, 7b, 8. See `compiler`: only safe shapes are emitted and facts hold only typed, non-null values.
The verdict depends only on the fact, so it is memoised per engine (that is, per policy revision).
"""

from __future__ import annotations

import itertools
import json
import threading
import weakref
from collections.abc import Mapping

import durable_rules_engine as _engine

from policy_service.deciding.compiler import CATCH_ALL, CompiledRuleset
from policy_service.errors import EngineError

ENGINE_LOCK = threading.Lock()
_ruleset_numbers = itertools.count(1)
VERDICT_MEMO_SIZE = 65536  # engine verdicts kept per revision


def _delete_ruleset(handle: int) -> None:
    with ENGINE_LOCK:
        _engine.delete_ruleset(handle)


class RuleEngine:
    """One compiled policy revision, loaded into the engine."""

    def __init__(self, compiled: CompiledRuleset, revision: str) -> None:
        self.compiled = compiled
        self.name = f"policies@{revision}#{next(_ruleset_numbers)}"
        definition = json.dumps(compiled.definition, ensure_ascii=False)
        with ENGINE_LOCK:
            self._handle = _engine.create_ruleset(self.name, definition)
        self._sids = itertools.count(1)
        self._finalizer = weakref.finalize(self, _delete_ruleset, self._handle)
        self._memo: dict[tuple[object, ...], frozenset[str]] = {}

    def fired(self, values: Mapping[str, object]) -> frozenset[str]:
        """Memoised on the request's class key (see FactPlan.class_key); a miss asks the engine with
        the request's own values, which belong to that class."""
        plan = self.compiled.plan
        class_key = plan.class_key(values)
        verdict = self._memo.get(class_key)
        if verdict is None:
            verdict = self.fired_uncached(plan.key(values))
            if len(self._memo) >= VERDICT_MEMO_SIZE:
                self._memo.clear()  # crude but bounded; a revision's classes rarely come near it
            self._memo[class_key] = verdict
        return verdict

    @property
    def memo_size(self) -> int:
        return len(self._memo)

    def close(self) -> None:
        self._finalizer()

    def fired_uncached(self, key: tuple[object, ...]) -> frozenset[str]:
        """Rule keys ("policy/rule") whose conditions hold for the fact with this key."""
        sid = str(next(self._sids))
        fact = json.dumps(self.compiled.plan.fact(key, sid), ensure_ascii=False)
        names: set[str] = set()
        with ENGINE_LOCK:
            try:
                result = _engine.assert_fact(self._handle, fact)
                if result[0] != 0:
                    raise EngineError(f"engine refused the fact (code {result[0]})")
                action = _engine.start_action_for_state(self._handle, result[1])
                while action:
                    names.update(json.loads(action[1] if isinstance(action, tuple) else action))
                    action = _engine.complete_and_start_action(self._handle, result[1])
            finally:
                _engine.delete_state(self._handle, sid)
        if CATCH_ALL not in names:
            raise EngineError("the engine lost this evaluation's result")
        return frozenset(self.compiled.rule_keys[int(name[1:])] for name in names if name != CATCH_ALL)

