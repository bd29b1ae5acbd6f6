"""Policy tests (`*_test.yaml`): collect and run cases (runner), print them for people and CI
(report), measure what they exercise (coverage), and run them under pytest (pytest_plugin).

Running goes through the same pipeline as a live decision (deciding.runtime) and the same JSON
spelling (service.spelling). May import service and everything below it; never serving or web.
"""
