"""The SimPy model: processes and timed calls that turn the core's decisions into time.

Rule: imports the core and the scenario, nothing above. Its records (subnets' change
points, the recorder's rows, nodes and pods) are what results and charts read.
"""
