"""Authoring: a policy directory (YAML) becomes a PolicySet, or every reason it cannot, positioned.

Owns reading files with positions (source), the shape of each file kind (file_schemas), reading rules
and agents with every reference checked (references), building model objects (build), warnings about
rules that can never match (satisfiability), the whole load (loader) and diagnostics as values
(diagnostics). It never raises for anything in the files.

May import model, deciding (the words and placeholders it checks) and errors; never decisionlog,
service, web or Flask.
"""
