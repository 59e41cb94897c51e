"""The value types of scenario files: durations, CIDRs, rates, CPU and memory, counts or
percentages, resource names, and the strict base model every section derives from."""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from simulator.core.units import format_duration, parse_duration

__all__ = [
    "MAX_NODES_PER_POOL",
    "MAX_REPLICAS",
    "Cidr",
    "ClusterName",
    "CountOrPercent",
    "CpuMillis",
    "Duration",
    "MemoryMiB",
    "NodePoolName",
    "Rate",
    "ResourceName",
    "Resources",
    "StrictModel",
    "WorkloadName",
]

#: AKS limits used to refuse absurd sizes before any memory is spent.
MAX_NODES_PER_POOL = 1000
MAX_REPLICAS = 200_000


def _duration(value: Any) -> float:
    return parse_duration(value)


Duration = Annotated[
    float,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^\s*([0-9]+(\.[0-9]+)?|\.[0-9]+)\s*[smhd]?\s*$"},
            ],
            "description": "Duration: a number of seconds or a string with s, m, h or d suffix.",
        }
    ),
]


def _cidr(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be an IPv4 CIDR such as 10.240.0.0/16")
    try:
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError("must be an IPv4 CIDR such as 10.240.0.0/16") from None
    if network.version != 4:
        raise ValueError("must be an IPv4 CIDR such as 10.240.0.0/16 (IPv6 is not modelled)")
    if "/" not in value:
        raise ValueError("must give a prefix length, such as 10.240.0.0/16")
    if network.network_address != ipaddress.ip_interface(value.strip()).ip:
        raise ValueError(f"has host bits set; the network address is {network}")
    return str(network)


Cidr = Annotated[
    str,
    BeforeValidator(_cidr),
    WithJsonSchema({"type": "string", "description": "IPv4 CIDR, e.g. 10.240.0.0/16"}),
]


def _count_or_percent(value: Any) -> int | str:
    if isinstance(value, bool):
        raise ValueError("must be a count such as 2 or a percentage such as 25%")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("must not be negative")
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+(\.[0-9]+)?\s*%\s*", value):
        if float(value.strip().rstrip("%")) > 100:
            raise ValueError("a percentage must be at most 100%")
        return value.strip().replace(" ", "")
    raise ValueError("must be a count such as 2 or a percentage such as 25%")


#: A whole number of pods or nodes, or a percentage of a total (``25%``).
CountOrPercent = Annotated[
    int | str,
    BeforeValidator(_count_or_percent),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?%$"},
            ]
        }
    ),
]


def _rate(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a rate such as 2/s, 30/min, 100/h or a number per second")
    if isinstance(value, int | float):
        per_second = float(value)
    elif isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*/\s*(s|min|h)\s*", value)
        if not match:
            raise ValueError("must be a rate such as 2/s, 30/min, 100/h or a number per second")
        per_second = float(match.group(1)) / {"s": 1.0, "min": 60.0, "h": 3600.0}[match.group(2)]
    else:
        raise ValueError("must be a rate such as 2/s, 30/min, 100/h or a number per second")
    if not math.isfinite(per_second):
        raise ValueError("must be finite: a rate such as 2/s, 30/min or 100/h")
    if per_second <= 0:
        raise ValueError("must be a positive rate")
    return per_second


#: Arrivals per second, written as ``2/s``, ``30/min``, ``100/h`` or a number per second.
Rate = Annotated[
    float,
    BeforeValidator(_rate),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {
                    "type": "string",
                    "pattern": r"^\s*([0-9]+(\.[0-9]+)?|\.[0-9]+)\s*/\s*(s|min|h)\s*$",
                },
            ],
            "description": "Arrivals: 2/s, 30/min, 100/h or a number per second.",
        }
    ),
]


def _cpu(value: Any) -> int:
    """CPU in millicores from ``250m``, ``0.5`` or ``2``."""
    if isinstance(value, bool):
        raise ValueError("must be CPU such as 250m, 0.5 or 2")
    if isinstance(value, int | float):
        milli = float(value) * 1000
    elif isinstance(value, str) and re.fullmatch(r"\s*[0-9]+m\s*", value):
        milli = float(value.strip()[:-1])
    elif isinstance(value, str) and re.fullmatch(r"\s*([0-9]+(\.[0-9]+)?|\.[0-9]+)\s*", value):
        milli = float(value) * 1000
    else:
        raise ValueError("must be CPU such as 250m, 0.5 or 2")
    if not math.isfinite(milli):
        raise ValueError("must be finite: CPU such as 250m, 0.5 or 2")
    if milli < 0 or milli > 10_000_000:
        raise ValueError("must be CPU between 0 and 10000 cores")
    return round(milli)


_MEMORY_UNITS = {"Ki": 1 / 1024, "Mi": 1.0, "Gi": 1024.0, "Ti": 1024.0**2,
                 "K": 1000 / 1024**2, "M": 1000**2 / 1024**2, "G": 1000**3 / 1024**2}  # fmt: skip


def _memory(value: Any) -> int:
    """Memory in MiB from ``512Mi``, ``2Gi``, ``1G`` (Kubernetes suffixes)."""
    match = (
        re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(Ki|Mi|Gi|Ti|K|M|G)\s*", value)
        if isinstance(value, str)
        else None
    )
    if not match:
        raise ValueError("must be memory with a unit such as 512Mi, 2Gi or 1G")
    mib = float(match.group(1)) * _MEMORY_UNITS[match.group(2)]
    if not math.isfinite(mib) or mib > 1024**3:
        raise ValueError("must be memory below 1 PiB")
    return round(mib)


CpuMillis = Annotated[
    int,
    BeforeValidator(_cpu),
    PlainSerializer(lambda m: f"{m}m", return_type=str, when_used="json"),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}]}),
]
MemoryMiB = Annotated[
    int,
    BeforeValidator(_memory),
    PlainSerializer(lambda m: f"{m}Mi", return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "description": "memory such as 512Mi or 2Gi"}),
]

ResourceName = Annotated[
    str,
    Field(pattern=r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$"),
]
ClusterName = Annotated[str, Field(pattern=r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")]
# AKS node pool names: lowercase letters and digits, starting with a letter, at most 12.
NodePoolName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{0,11}$")]
# Kubernetes object names (DNS-1123 label).
WorkloadName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]


class StrictModel(BaseModel):
    # Strict: YAML already types values, so "true" must not pass for a count. No NaN or
    # infinity in any number: .nan and .inf are refused as "must be a finite number".
    model_config = ConfigDict(
        extra="forbid", validate_default=True, frozen=True, strict=True, allow_inf_nan=False
    )


class Resources(StrictModel):
    """CPU and memory, as Kubernetes spells them (``250m``, ``0.5``; ``512Mi``, ``2Gi``)."""

    cpu: CpuMillis = Field(0, description="CPU (cores or millicores)")
    memory: MemoryMiB = Field("0Mi", description="memory with a unit")
    gpu: int = Field(0, ge=0, le=64, description="GPUs (the nvidia.com/gpu extended resource)")
