"""The pure core: Azure's address facts, a node's IP pool, the pool monitors' decisions,
the table of CNI modes and the sizing formulas derived from it, units and VM sizes.

Rule: plain Python and numpy only. No SimPy, pandas or matplotlib, no randomness, no
files: everything here is exact and tested with exact numbers.
"""
