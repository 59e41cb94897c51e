"""Many runs: run specifications and seeds, executors (local processes, Dask), replicas,
compare, sweep, plan and the capacity table.

Rule: sits on runs and their results; the command line sits on top.
"""
