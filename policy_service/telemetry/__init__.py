"""Telemetry: the service's Prometheus metrics (metrics) and JSON-lines logging (logs).

Defined away from Flask so the service layer can count and log without importing web; imports
nothing of the package.
"""
