"""Durations: parsing and the spelling written to scenario.resolved.yaml."""

import pytest

from simulator.core.units import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1.5h", 5400), (45, 45),
     ("0.25", 0.25), (" 3 m ", 180)],
)  # fmt: skip
def test_parse(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["-5s", -1, "10x", "", "1e3s", True, None, [1], "nan"])
def test_parse_rejects(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize(
    "seconds", [0, 1, 59, 60, 90, 3600, 5400, 86400, 0.75, 1234.5678, 1e-05, 10.0000004,
                1 / 3, 172800.5],
)  # fmt: skip
def test_format_reads_back_exactly(seconds):
    text = format_duration(seconds)
    assert "e" not in text
    assert parse_duration(text) == seconds


def test_format_uses_the_largest_whole_unit():
    assert [format_duration(s) for s in (7200, 600, 90, 86400 * 2)] == ["2h", "10m", "90s", "2d"]
