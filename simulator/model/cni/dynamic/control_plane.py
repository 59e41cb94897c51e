"""The control plane's side of each node's NodeNetworkConfig (DNC-RC; closed source).

Reference: reference/azure-cni.md §4. After a spec change it releases every address in
``ipsNotInUse`` and tops the node up to ``requestedIPCount`` from the pod subnet, after a
latency. Requests that the subnet cannot fill leave the NC in ``NCUpdateSubnetFullError``
and are retried when addresses come back to the subnet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from simulator.model.context import ModelContext
from simulator.model.entities import Node

__all__ = ["NC_FULL", "NC_PENDING", "NC_SUCCESS", "ControlPlane", "NncState"]

NC_PENDING = "Pending"  # no status published yet
NC_SUCCESS = "NCUpdateSuccess"
NC_FULL = "NCUpdateSubnetFullError"


@dataclass(eq=False)
class NncState:
    """One node's NNC: the spec CNS writes and the status the control plane writes."""

    requested: int = 0  # spec.requestedIPCount
    not_in_use: set[int] = field(default_factory=set)  # spec.ipsNotInUse
    primary: int | None = None  # the NC's primary address (status)
    secondaries: set[int] = field(default_factory=set)  # status: addresses carved out
    nc_status: str = NC_PENDING
    queued: bool = False  # a fulfilment is scheduled
    waiting: bool = False  # parked until the subnet frees addresses


StatusListener = Callable[[Node, list[int], list[int]], None]


class ControlPlane:
    """Fulfils NNC specs for the nodes of one cluster."""

    def __init__(self, ctx: ModelContext, on_status: StatusListener) -> None:
        self.ctx = ctx
        self.on_status = on_status
        self.latency = ctx.cluster.timings.nnc_fulfilment
        self.partial = ctx.cluster.ipam.partial_fulfilment

    def spec_changed(self, node: Node) -> None:
        """Queue a reconcile of ``node``'s NNC; updates that arrive meanwhile coalesce,
        as in a controller's work queue: the reconcile reads the latest spec."""
        nnc: NncState = node.cni
        if nnc.queued or not node.alive:
            return
        nnc.queued = True
        self.ctx.after(self.latency, self._fulfil, node)

    def _fulfil(self, node: Node) -> None:
        nnc: NncState = node.cni
        nnc.queued = False
        if not node.alive:
            return
        subnet = node.pod_subnet
        assert subnet is not None
        released = sorted(nnc.not_in_use & nnc.secondaries)
        if released:
            # Released first, then topped up: the order the reference gives.
            nnc.secondaries.difference_update(released)
            subnet.give_back(released, holder=node.holder)
        wanted = nnc.requested - len(nnc.secondaries) + (1 if nnc.primary is None else 0)
        added: list[int] = []
        short = False
        if wanted > 0:
            # An address the node still lists in ipsNotInUse is not handed back to it:
            # CNS would take a reissued one for released and the next status would
            # remove it under a pod (an assumption; see docs/model.md).
            avoid = nnc.not_in_use
            got = (
                subnet.take_upto(wanted, holder=node.holder, avoid=avoid)
                if self.partial
                else subnet.take(wanted, holder=node.holder, avoid=avoid)
            )
            if got is None or len(got) < wanted:
                short = True
            if got:
                if nnc.primary is None:
                    nnc.primary = got[0]
                    got = got[1:]
                nnc.secondaries.update(got)
                added = got
        was = nnc.nc_status
        nnc.nc_status = NC_FULL if short else NC_SUCCESS
        if short:
            if node.first_ips_s is None:  # refused before it ever had an address
                node.first_batch_refused = True
            if was != NC_FULL:
                self.ctx.recorder.node_event(
                    node,
                    "subnet_full",
                    f"{NC_FULL}: node needs {wanted} more addresses, subnet has "
                    f"{subnet.pool.free} free",
                    subnet.name,
                )
            if not nnc.waiting:
                nnc.waiting = True
                subnet.wait_for_free(lambda: self._retry(node))
        elif was == NC_FULL:
            self.ctx.recorder.node_event(
                node, "nc_recovered", "request filled after the subnet freed addresses", subnet.name
            )
        self.on_status(node, added, released)

    def _retry(self, node: Node) -> None:
        nnc: NncState = node.cni
        nnc.waiting = False
        self.spec_changed(node)
