"""The HTTP API: the only modules that import Flask."""
