"""The sync's settings fail loudly on bad values, as every setting does."""

import pytest

from tests.reachkit.test_settings import GOOD_KEY, run_settings


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REACHKIT_SYNC_SINCE_DAYS", "a month"),
        ("REACHKIT_SYNC_SINCE_DAYS", "0"),
        ("REACHKIT_SYNC_MAX_MESSAGE_BYTES", "12"),
        ("REACHKIT_SYNC_PASS_SECONDS", "3600"),
    ],
)
def test_a_malformed_sync_setting_stops_the_process_with_one_line_naming_it(name, value):
    result = run_settings(
        REACHKIT_SECRET_KEY="s" * 50, REACHKIT_ENCRYPTION_KEYS=GOOD_KEY, **{name: value}
    )
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert name in result.stderr
