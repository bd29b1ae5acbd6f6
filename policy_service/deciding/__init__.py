"""Deciding: a JSON body becomes an Evaluation. Pure and in-process: no database, no HTTP.

Owns request validation and quantities (request), rule conditions compiled for durable_rules
(compiler) and the engine that runs them (engine, the only importer of durable_rules), effective limits
(limits), outcome, options and words (evaluation, words), what a decision asks the budget ledger
(budgets), and THE pipeline every caller uses: `PolicyRuntime.read` then `PolicyRuntime.decide`
(runtime).

Imports only model, errors and outside libraries; never authoring, decisionlog, service, web or Flask.
The ledger reaches it through the `UsageReader` protocol, so the log depends on this room, not the
other way round.
"""
