"""The HTTP baseline: a bare Flask JSON endpoint that parses the body and answers 201 with JSON.

Served under the same gunicorn settings as the service, in the same run (bench/http_api.py)."""

from flask import Flask, jsonify, request


def create_app() -> Flask:
    app = Flask("bare")

    @app.post("/v1/decisions")
    def echo():  # type: ignore[no-untyped-def]
        body = request.get_json()
        return jsonify(outcome="allow", action=body["proposal"]["action"]), 201

    return app
