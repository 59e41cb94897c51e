"""Allocatable CPU and memory of common Azure VM sizes, as AKS leaves them to pods.

AKS reserves CPU and memory for the kubelet and the OS (kube-reserved) and keeps an
eviction threshold; what is left is the node's allocatable. The reservations follow the
AKS documentation ("Resource reservations", node resource reservations): CPU by core
count, memory 25 % of the first 4 GiB, 20 % of the next 4, 10 % of the next 8, 6 % of
the next 112 and 2 % above 128 GiB, plus a 750 MiB eviction threshold. The figures are
approximations for scheduling; give ``allocatable`` explicitly for exact values.
"""

from __future__ import annotations

from typing import Any

__all__ = ["VM_SIZES", "allocatable_for", "pool_allocatable", "pool_gpus"]

#: vCPUs and memory (GiB) of the sizes the table knows.
VM_SIZES: dict[str, tuple[int, float]] = {
    "Standard_B2s": (2, 4),
    "Standard_B4ms": (4, 16),
    "Standard_DS2_v2": (2, 7),
    "Standard_DS3_v2": (4, 14),
    "Standard_D2s_v3": (2, 8),
    "Standard_D4s_v3": (4, 16),
    "Standard_D8s_v3": (8, 32),
    "Standard_D16s_v3": (16, 64),
    "Standard_D2s_v5": (2, 8),
    "Standard_D4s_v5": (4, 16),
    "Standard_D8s_v5": (8, 32),
    "Standard_D16s_v5": (16, 64),
    "Standard_D32s_v5": (32, 128),
    "Standard_D4ds_v5": (4, 16),
    "Standard_D8ds_v5": (8, 32),
    "Standard_D4as_v5": (4, 16),
    "Standard_D8as_v5": (8, 32),
    "Standard_D16as_v5": (16, 64),
    "Standard_E4s_v5": (4, 32),
    "Standard_E8s_v5": (8, 64),
    "Standard_E16s_v5": (16, 128),
    "Standard_F8s_v2": (8, 16),
    "Standard_F16s_v2": (16, 32),
}

#: kube-reserved CPU (millicores) by core count.
_CPU_RESERVED = {1: 60, 2: 100, 4: 140, 8: 180, 16: 260, 32: 420, 64: 740}
_EVICTION_MIB = 750


def _memory_reserved_mib(total_gib: float) -> float:
    reserved, left = 0.0, total_gib
    for size, share in ((4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06), (float("inf"), 0.02)):
        part = min(left, size)
        reserved += part * share
        left -= part
        if left <= 0:
            break
    return reserved * 1024


def allocatable_for(vm_size: str) -> tuple[int, int]:
    """(CPU millicores, memory MiB) that pods can request on a node of ``vm_size``."""
    cores, gib = VM_SIZES[vm_size]
    cpu = cores * 1000 - _CPU_RESERVED.get(cores, 740)
    memory = gib * 1024 - _memory_reserved_mib(gib) - _EVICTION_MIB
    return cpu, int(memory)


def pool_allocatable(pool: Any) -> tuple[int | None, int | None]:
    """A node pool's allocatable (CPU millicores, memory MiB); None where unlimited."""
    if pool.allocatable is not None:
        return pool.allocatable.cpu, pool.allocatable.memory
    if pool.vm_size is not None:
        return allocatable_for(pool.vm_size)
    return None, None


def pool_gpus(pool: Any) -> int | None:
    """GPUs (``nvidia.com/gpu``) a node of the pool offers: its ``allocatable``'s, none for
    a ``vm_size`` (the built-in sizes have none); None where unlimited (neither given)."""
    if pool.allocatable is not None:
        return pool.allocatable.gpu
    return 0 if pool.vm_size is not None else None
