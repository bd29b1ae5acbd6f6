"""The service's use cases, without Flask: what the HTTP API, the CLI and later faces all call.

Owns the answers' shapes and their serialisation (responses), how a decision is spelled in JSON and
its ids (spelling), deciding and recording (recording), approvals and outcomes (approvals), where a
decision stands after them (events), an approver's inbox (inbox), one decision as an auditor
examines it (evidence), a stored revision's files cut at each rule (passages), the live policy set and its reloads (reloading), shadow
mode (shadow), what-if replay (replay), auditors' filters that need the live policies (auditing), the
empowerment matrix (matrix), what one agent may grant before any case facts (authority), API keys
(keys, and the key file as running faces follow it), console sessions signed out (sign_outs), what a
running face serves from (state) and how a refusal names its fields (problems). Raises the
domain errors of policy_service.errors; never chooses an HTTP status.

May import decisionlog, authoring, deciding, model, telemetry, config and errors; never policytest,
serving, web or Flask.
"""
