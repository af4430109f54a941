"""How likely a thumbnail test is to find a better thumbnail: the shipped table, read at the channel's volume."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine import abpower
from engine.store import Store
from engine.tables import ReachDay

TABLE = {"impressions_per_day": [100, 1000, 10000], "uplifts": [0.1, 0.5],
         "power": {"21": [[0.0, 0.2], [0.1, 0.6], [0.4, 1.0]], "42": [[0.1, 0.4], [0.3, 0.9], [0.8, 1.0]]}}


def test_the_table_is_read_between_its_points_in_log_volume_uplift_and_days():
    assert abpower.power_of(TABLE, 1000, 0.1, 21) == pytest.approx(0.1)
    assert abpower.power_of(TABLE, 10 ** 3.5, 0.1, 21) == pytest.approx(0.25)  # halfway in log impressions
    assert abpower.power_of(TABLE, 1000, 0.3, 21) == pytest.approx(0.35)
    assert abpower.power_of(TABLE, 1000, 0.1, 31.5) == pytest.approx(0.2)
    assert abpower.power_of(TABLE, 10, 0.01, 5) == 0.0 and abpower.power_of(TABLE, 10 ** 6, 2.0, 90) == 1.0


def test_the_shipped_table_grows_with_volume_uplift_and_days():
    table = abpower.shipped_table()
    assert table["made_by"] == "bench/abtest.py" and set(table["power"]) == {"21", "42"}
    for grid in table["power"].values():
        assert len(grid) == len(table["impressions_per_day"]) and all(len(row) == len(table["uplifts"]) for row in grid)
        assert all(row == sorted(row) for row in grid)  # a larger uplift is found at least as often
        # More impressions never make a test much worse (the figures are simulated: a few points of noise).
        assert all(grid[i + 1][j] >= grid[i][j] - 0.05 for i in range(len(grid) - 1) for j in range(len(grid[0])))


def _store_with_days(tmp_path: Path, videos: dict[str, tuple[date, int, int]]) -> Store:
    """Each video's reach rows: (first day, days, impressions a day)."""
    store = Store(f"sqlite:///{tmp_path / 'power.db'}")
    made = datetime(2026, 12, 1, tzinfo=timezone.utc)
    for video, (first, days, impressions) in videos.items():
        for k in range(days):
            store.add(ReachDay(video_id=video, day=first + timedelta(days=k), impressions=impressions, clicks=1.0,
                               report_created=made))
    return store


def test_the_channels_volume_is_the_median_of_its_last_five_videos_first_three_weeks(tmp_path: Path):
    start = date(2026, 6, 1)
    videos = {f"v{k}": (start + timedelta(days=30 * k), 21, 100 * (k + 1)) for k in range(6)}  # v0 is the oldest
    videos["v5"] = (start + timedelta(days=150), 40, 600)  # days after its first 21 do not count
    videos["other"] = (start, 21, 99_999)  # another channel's video
    store = _store_with_days(tmp_path, videos)
    assert abpower.channel_impressions(store, {f"v{k}" for k in range(6)}) == (400, True)  # v1..v5: 200..600
    assert abpower.channel_impressions(store, set()) == (abpower.DEFAULT_IMPRESSIONS, False)


def test_a_small_channel_is_told_its_chances_and_offered_the_longer_test(tmp_path: Path):
    store = _store_with_days(tmp_path, {"v": (date(2026, 6, 1), 21, 300)})
    found = abpower.estimate(store, {"v"}, 21, TABLE)
    assert found.impressions_per_day == 300 and found.measured
    text = abpower.told(found)
    assert text.startswith("How likely this test is to find a better thumbnail: with about 300 impressions a day")
    assert "a 25% better one about one time in" in text and "VF_ABTEST_MAX_DAYS=42" in text
    unknown = abpower.told(abpower.estimate(store, set(), 42, TABLE))
    assert "no reach figures yet (taking 1,000 impressions a day)" in unknown and "VF_ABTEST_MAX_DAYS" not in unknown
