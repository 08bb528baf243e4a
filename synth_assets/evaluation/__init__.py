"""Evaluations: the training effect of an experiment's data, measured per evaluator fingerprint (plain Python).

`spec` (the config's `evaluation:` list, evaluator fingerprints), `stored` (store paths, registered
evaluators), `runners` (probe, python entry point, command), `probe` (the built-in linear probe),
`stats` (bootstrap intervals), `evaluate` (reuse or run, store, lineage), `effect` (tables and verdicts).
"""
