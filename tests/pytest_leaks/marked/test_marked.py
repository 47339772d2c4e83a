"""Marker cases of the pytest plugin's test: the marker turns the check on without the flag,
allow= and types= narrow what is reported."""
import pytest

KEPT = []


class Invoice:
    pass


class AuditEntry:
    pass


class Widget:
    """An allowed type whose own attributes are containers: they go with it."""

    def __init__(self):
        self.options = {"color": "red"}
        self.children = []


@pytest.mark.refgraph_leaks
def test_marked_leak_fails_without_the_flag():
    KEPT.append(Invoice())


@pytest.mark.refgraph_leaks(allow=["Invoice"])
def test_allowed_type_passes():
    KEPT.append(Invoice())


@pytest.mark.refgraph_leaks(allow=["Widget"])
def test_allowed_type_passes_with_the_containers_it_holds():
    KEPT.append(Widget())


@pytest.mark.refgraph_leaks(types=["AuditEntry"])
def test_only_listed_types_are_reported():
    KEPT.append(Invoice())


@pytest.mark.refgraph_leaks(types=["AuditEntry"])
def test_listed_type_leak_fails():
    KEPT.append(AuditEntry())


def test_unmarked_leak_passes_without_the_flag():
    KEPT.append(Invoice())
