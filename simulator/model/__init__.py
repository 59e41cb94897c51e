"""The SimPy model: processes that turn the pure core's decisions into time."""
