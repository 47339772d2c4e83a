"""Tests that fail on their first run and pass when repeated: the leak check's extra runs must
not turn them into passes (`pytest --refgraph-leaks` reports 2 failed, as plain pytest does)."""

_STATE = {}


def get_config():
    # The bug under test: the first call returns an incomplete config.
    if "cfg" not in _STATE:
        _STATE["cfg"] = {"x": 1}
        return {}
    return _STATE["cfg"]


def test_config_has_x():
    assert get_config().get("x") == 1


_CALLS = []


def test_fails_only_the_first_time():
    _CALLS.append(1)
    assert len(_CALLS) > 1, "the first run fails"
