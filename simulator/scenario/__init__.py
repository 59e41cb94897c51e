"""Scenario files: typed models, the table of workload kinds, cross-field rules, the
loader and variants (``--set``, ``--cni``).

Rule: imports only the core. A scenario that loads is one the model can run.
"""
