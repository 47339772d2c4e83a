"""pytest-forked with the leak check: a test it runs in a child process is checked there, and
its leak fails it (the report the child sends back). `pytest --refgraph-leaks forked` (needs
pytest-forked): 1 failed, 1 passed."""
import pytest

KEPT = []


class LeakedInAFork:
    pass


@pytest.mark.forked
def test_leak_in_a_forked_child_fails():
    KEPT.append(LeakedInAFork())


@pytest.mark.forked
def test_clean_test_in_a_forked_child_passes():
    assert len([object() for _ in range(10)]) == 10
