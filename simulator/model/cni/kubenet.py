"""kubenet (``networkPlugin: kubenet``): a node takes one address of the node subnet and
a /24 of the cluster's pod CIDR, routed through the cluster's route table.

Reference: reference/azure-cni.md §9. Addresses behave as under Overlay: a /24 per node
for its lifetime, pods never wait. What differs is in the table of modes: at most 400
nodes (a route table holds 400 routes), max pods 110 by default, a pod CIDR that cannot
change once the cluster is deployed, and a pre-flight check of the node subnet only.
"""

from __future__ import annotations

from simulator.model.cni.overlay import OverlayCni

__all__ = ["KubenetCni"]


class KubenetCni(OverlayCni):
    """A /24 of the pod CIDR per node, as Overlay does."""

    name = "kubenet"
