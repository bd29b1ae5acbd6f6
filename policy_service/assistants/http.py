"""`policy-service mcp --http --bind HOST:PORT`: the tools over Streamable HTTP at /mcp, on the SDK's
own transport, bearer authentication and DNS-rebinding protection.

Who is calling decides who the server acts as: `Authorization: Bearer <key>` must be an agent_tool key
bound to one agent (`keys create NAME --role agent_tool --agent ID`, docs/contract.md §9), and every
call of that request acts as that agent. No key, or an unknown one: 401. A known key that is not an
agent_tool key bound to one agent: 403 (an `--any-agent` integration key would let a model choose whom
to act for, which is what this server exists to prevent). The SDK binds each MCP session to the key
that opened it, so another key cannot ride on it.

The Host header must name this server (`--allowed-host`; the bind address by default) and a browser's
Origin must be listed (`--allowed-origin`; none by default), so a web page cannot drive a local server
through DNS rebinding.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette

from policy_service.assistants.server import build_server
from policy_service.assistants.tools import Seat
from policy_service.service.keys import KeySource, hash_key
from policy_service.service.state import ServiceState

log = logging.getLogger(__name__)

PATH = "/mcp"
ROLE = "agent_tool"  # the scope a key must carry: the role that asks for decisions, bound to one agent
MAX_BODY_BYTES = 64 * 1024  # as the HTTP API: a tool call is a decision request, never megabytes
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class BoundKeyVerifier:
    """The SDK's TokenVerifier over the service's key file (re-read when it changes)."""

    def __init__(self, keys: KeySource) -> None:
        self.keys = keys

    async def verify_token(self, token: str) -> AccessToken | None:
        key = self.keys.current().find(token)
        if key is None:
            return None
        agent = key.scope.bound if ROLE in key.roles else None
        # The hash, not the key, is kept on the request: nothing downstream needs the secret.
        return AccessToken(token=hash_key(token), client_id=key.name, scopes=[ROLE] if agent else [], subject=agent)


def seat_of_request(_: object) -> Seat | None:
    """The agent the current request's key is bound to (the SDK carries the verified token per request)."""
    token = get_access_token()
    return Seat(token.subject) if token is not None and token.subject and ROLE in token.scopes else None


@dataclass(frozen=True)
class Listening:
    host: str
    port: int
    allowed_hosts: tuple[str, ...]
    allowed_origins: tuple[str, ...]

    @classmethod
    def parse(cls, bind: str, hosts: tuple[str, ...] = (), origins: tuple[str, ...] = ()) -> Listening:
        """`HOST:PORT` and the extra Host and Origin values to accept; ValueError when unusable."""
        host, _, port_text = bind.rpartition(":")
        host = host.strip("[]")
        if not host or not port_text.isdigit():
            raise ValueError(f"{bind!r}: use HOST:PORT")
        port = int(port_text)
        if host in ("0.0.0.0", "::"):  # every address: only the names clients use can be checked
            if not hosts:
                raise ValueError(f"{bind}: listening on every address needs --allowed-host NAME:PORT (the names clients use)")
            named = []
        elif host in LOOPBACK:
            named = [f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"]
        else:
            named = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
        return cls(host, port, tuple(dict.fromkeys([*named, *hosts])), tuple(origins))


def build_app(state: ServiceState, keys_file: str | Path, listening: Listening) -> Starlette:
    server = build_server(state, seat_of_request)
    base = f"http://{listening.allowed_hosts[0]}"
    return server.streamable_http_app(
        streamable_http_path=PATH,
        max_request_body_size=MAX_BODY_BYTES,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                                     allowed_hosts=list(listening.allowed_hosts),
                                                     allowed_origins=list(listening.allowed_origins)),
        host=listening.host,
        # The SDK's bearer check needs AuthSettings; there is no OAuth server here (no provider is given, so
        # no OAuth routes are served): the issuer is this server itself, which issues keys with the CLI.
        auth=AuthSettings(issuer_url=base, resource_server_url=None, required_scopes=[ROLE]),  # type: ignore[arg-type]
        token_verifier=BoundKeyVerifier(KeySource(keys_file)),
    )


def run_http(state: ServiceState, keys_file: str | Path, listening: Listening) -> None:
    """Serve until interrupted."""
    app = build_app(state, keys_file, listening)
    log.info("MCP server on http://%s:%s%s (hosts %s)", listening.host, listening.port, PATH, ", ".join(listening.allowed_hosts))
    uvicorn.run(app, host=listening.host, port=listening.port, log_level="warning")
