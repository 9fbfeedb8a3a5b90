import pytest

URL = "/api/v1/blocklist"


@pytest.fixture
def three_a_minute(settings):
    settings.THROTTLE_RATE = "3/min"


def test_requests_beyond_the_rate_are_429_with_retry_after(api, three_a_minute):
    for _ in range(3):
        assert api.get(URL).status_code == 200

    response = api.get(URL)

    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 0 < int(response["Retry-After"]) <= 60


def test_each_key_has_its_own_budget(api, charlie, three_a_minute):
    for _ in range(3):
        api.get(URL)
    assert api.get(URL).status_code == 429
    assert charlie.client.get(URL).status_code == 200
