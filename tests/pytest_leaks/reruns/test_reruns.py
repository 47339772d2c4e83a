"""pytest-rerunfailures with the leak check: a flaky test is rerun and passes, a leaking test is
rerun and still fails, naming its leak. `pytest --refgraph-leaks reruns` (needs
pytest-rerunfailures): 1 failed, 1 passed, 2 rerun."""
import pytest

_CALLS = {"flaky": 0}
KEPT = []


class Leaked:
    pass


@pytest.mark.flaky(reruns=2)
def test_flaky_passes_on_a_rerun():
    _CALLS["flaky"] += 1
    assert _CALLS["flaky"] >= 2, "fails the first time only"


@pytest.mark.flaky(reruns=1)
def test_leak_fails_after_its_rerun():
    KEPT.append(Leaked())
