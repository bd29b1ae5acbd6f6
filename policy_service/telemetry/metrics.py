"""The service's Prometheus metrics. Defined here, away from Flask, so the decision and reload code
can count without importing the web layer; served by web/metrics.py."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Decisions are 0.3–30 ms end to end; the engine's own part is microseconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
ENGINE_BUCKETS = (0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025)

DECISIONS = Counter("policy_decisions", "Decisions recorded, by outcome, action and policy",
                    ["outcome", "action", "policy"])
DECISION_SECONDS = Histogram("policy_decision_seconds", "POST /v1/decisions, from request to recorded answer",
                             buckets=LATENCY_BUCKETS)
ENGINE_SECONDS = Histogram("policy_engine_seconds", "Evaluation time of a decision (rules engine and limits)",
                           buckets=ENGINE_BUCKETS)
REQUESTS = Counter("policy_http_requests", "HTTP requests by route, method and status", ["route", "method", "status"])
RELOADS = Counter("policy_reloads", "Policy reloads by result (ok, failed, unchanged)", ["result"])
LOG_WRITE_FAILURES = Counter("policy_log_write_failures", "Writes to the decision log that failed (answered 503)")
SHADOW_DISAGREEMENTS = Counter("policy_shadow_disagreements",
                               "Decisions where the shadow candidate set would have answered differently",
                               ["live_outcome", "candidate_outcome"])
