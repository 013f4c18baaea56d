"""Pods and Events as kubectl prints them: durations as kubectl's HumanDuration writes them (AGE, RESTARTS,
LAST SEEN). STATUS is tested with the rest of the Pod reading, in tests/test_pods.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.incidents.kubectl import age


@pytest.mark.parametrize(
    ("delta", "printed"),
    [
        (timedelta(seconds=-2), "<invalid>"),
        (timedelta(seconds=-1), "0s"),
        (timedelta(0), "0s"),
        (timedelta(milliseconds=999), "0s"),
        (timedelta(seconds=119), "119s"),
        (timedelta(minutes=2), "2m"),
        (timedelta(minutes=3, seconds=20), "3m20s"),
        (timedelta(minutes=10, seconds=1), "10m"),
        (timedelta(minutes=179), "179m"),
        (timedelta(hours=3, minutes=1), "3h1m"),
        (timedelta(hours=8, minutes=59), "8h"),
        (timedelta(hours=47, minutes=59), "47h"),
        (timedelta(days=2, hours=1), "2d1h"),
        (timedelta(days=8, hours=23), "8d"),
        (timedelta(days=729), "729d"),
        (timedelta(days=731), "2y1d"),
        (timedelta(days=8 * 365 - 1), "7y364d"),
        (timedelta(days=9 * 365), "9y"),
        (None, "<unknown>"),
    ],
)
def test_age_is_kubectls_human_duration(delta: timedelta | None, printed: str) -> None:
    assert age(delta) == printed
