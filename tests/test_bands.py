"""Band labels as AWS and Azure publish them, and --max-band values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotadvisor.bands import Band, band_text, parse_band, parse_max_band
from spotadvisor.errors import UsageError


@pytest.mark.parametrize(
    ("label", "band"),
    [
        ("<5%", Band("<5%", 0, 5)),  # AWS band 0
        ("5-10%", Band("5-10%", 5, 10)),  # AWS bands 1-3
        ("15-20%", Band("15-20%", 15, 20)),
        (">20%", Band(">20%", 20, 100)),  # AWS band 4: open above, capped at 100%
        ("0-5", Band("0-5%", 0, 5)),  # Azure eviction-rate strings have no %
        ("20+", Band(">20%", 20, 100)),  # Azure's top band (spelling not verified: be lenient)
        (" 10 - 15 % ", Band("10-15%", 10, 15)),
    ],
)
def test_labels(label: str, band: Band) -> None:
    assert parse_band(label) == band


@pytest.mark.parametrize("label", ["", "high", "10-5%", "5..10", "%", "50-150%", ">120%", "<101%"])
def test_not_a_band(label: str) -> None:
    assert parse_band(label) is None


@pytest.mark.parametrize(
    ("value", "upper"),
    [
        ("10-15%", 15.0),
        ("15", 15.0),
        ("15%", 15.0),
        ("<5%", 5.0),
        (">20%", 100.0),
        ("0-5", 5.0),  # Azure's labels
        ("20+", 100.0),
        ("7.5", 7.5),
    ],
)
def test_max_band(value: str, upper: float) -> None:
    assert parse_max_band(value) == upper


def test_max_band_rejects_words() -> None:
    with pytest.raises(UsageError, match="--max-band"):
        parse_max_band("low")


@given(st.integers(0, 99), st.integers(0, 99))
def test_range_bounds_round_trip(a: int, b: int) -> None:
    low, high = min(a, b), max(a, b)
    band = parse_band(f"{low}-{high}%")
    assert band is not None and (band.lower_pct, band.upper_pct) == (low, high)
    assert parse_band(band.label) == band


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3-7%", "'3-7%' is not an interruption band"),  # a band nobody publishes
        ("4", "no published band is as low as 4%"),  # would match nothing
        ("0", "not a percentage above 0 and up to 100"),
        ("-5", "not a percentage above 0 and up to 100"),
        ("101", "not a percentage above 0 and up to 100"),
    ],
)
def test_max_band_rejects_what_can_match_no_band(value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_max_band(value)


@pytest.mark.parametrize(
    ("low", "high", "text"),
    [(0.0, 0.05, "<5%"), (0.05, 0.10, "5-10%"), (0.20, 1.0, ">20%"), (0.2, 0.2, "20-20%")],
)
def test_band_text_reads_as_the_published_labels(low: float, high: float, text: str) -> None:
    assert band_text(low, high) == text
