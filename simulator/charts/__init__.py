"""Charts drawn from frames (matplotlib): one run's subnets, holders and node pools, and
the planning charts of many runs.

Rule: frames in, figures out; imports nothing else of the package.
"""
