"""flaky (the `flaky` package) with the leak check: it runs every test's protocol itself and
logs a test's result before its teardown, so a leak fails the test's teardown, with a warning
naming flaky; a flaky test is still rerun and passes. `pytest --refgraph-leaks -p
no:rerunfailures flaky` (needs flaky): 2 passed, 1 warning, 1 error."""
from flaky import flaky

_CALLS = {"flaky": 0}
KEPT = []


class LeakedUnderFlaky:
    pass


@flaky(max_runs=2)
def test_flaky_passes_on_its_second_run():
    _CALLS["flaky"] += 1
    assert _CALLS["flaky"] >= 2, "fails the first time only"


def test_leak_under_flaky_fails_its_teardown():
    KEPT.append(LeakedUnderFlaky())
