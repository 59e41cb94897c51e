"""Named random streams split from one seed (numpy ``SeedSequence``).

Each stream is keyed by a name such as ``job/etl/arrivals``, so a workload draws the same
numbers whatever else the scenario holds (other workloads, the CNI mode, subnet sizes):
comparing variants replays the very same pods. Global random state is never touched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

__all__ = ["Draws", "Streams"]


class Streams:
    """Independent generators by name, all derived from one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._streams: dict[str, np.random.Generator] = {}

    def get(self, name: str) -> np.random.Generator:
        """The generator for ``name`` (the same object on every call)."""
        stream = self._streams.get(name)
        if stream is None:
            # A stable 128-bit key from the name: Python's hash() changes between runs.
            digest = hashlib.sha256(name.encode()).digest()
            key = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
            sequence = np.random.SeedSequence(entropy=self.seed, spawn_key=key)
            stream = self._streams[name] = np.random.default_rng(sequence)
        return stream


class Draws:
    """Successive draws of one distribution from one stream, fetched in blocks.

    numpy fills an array with the very values that successive single draws would give
    (``tests/test_streams.py`` holds it to that), so blocks change no number; they save a
    numpy call per draw. The stream must serve this ``Draws`` alone."""

    BLOCK = 512

    def __init__(self, draw: Callable[[int], np.ndarray]) -> None:
        self._draw = draw
        self._values: list[float] = []

    def __call__(self) -> float:
        values = self._values
        if not values:
            values = self._values = self._draw(self.BLOCK)[::-1].tolist()
        return values.pop()
