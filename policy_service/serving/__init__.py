"""Serving: gunicorn's settings and hooks (gunicorn_conf), starting it from the CLI (serve), and the
optional policy file watcher (watcher). The process-level room: it may import every room below it,
web included (the app it serves); nothing imports it but the CLI.
"""
