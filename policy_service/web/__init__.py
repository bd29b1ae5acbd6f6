"""The HTTP API: the only room that imports Flask. A face, not a decider: each view reads the request,
calls the service layer, and turns its result into JSON through the declared schema
(web/operations.py) or its domain errors into problem+json (web/errors.py).

May import service and every room below it; nothing but serving and the package's create_app imports it.
"""
