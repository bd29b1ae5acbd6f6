"""The MCP server (docs/contract.md §11): AI assistants ask before they promise, through the Model
Context Protocol, on the official `mcp` SDK. The only room that imports the SDK (and the Starlette,
uvicorn and anyio it runs on).

A face, not a decider, beside web/: each tool translates its arguments into the body or call the HTTP
API would make, calls the same service functions (service.recording, service.approvals, service.events,
service.authority) and turns their answers into tool results, or their domain errors into tool errors
that name each field. The server acts as exactly one agent of the directory (fixed by `--agent` over
stdio, by the bearer key's bound agent over HTTP): no tool takes an agent or a tier.

Modules: `schemas` (tool input schemas from the live organisation, output schemas from the service's
response schemas), `tools` (the four tools: descriptions, annotations, handlers), `server` (the SDK
server for one seat, stdio), `http` (Streamable HTTP with bearer keys, Host and Origin checks).

May import service and every room below it; never web, console, serving or cli.
"""
