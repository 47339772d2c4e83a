"""Subtests with the leak check: each subtest is counted once (the extra runs of the body log
no reports), what pytest keeps to report them is no leak, and a leak in a test made of
subtests still fails it. `pytest --refgraph-leaks subtests`: 1 failed, 2 passed (or 1 passed,
1 skipped without pytest's `subtests` fixture: pytest 9, or pytest-subtests), with as many
subtests as without the check."""
import unittest

import pytest

KEPT = []


class LeakedFromASubtest:
    pass


class WithSubTest(unittest.TestCase):
    def test_clean_subtests(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertEqual(i * 2, i + i)


def test_clean_subtests_fixture(request):
    subtests = _subtests(request)
    for i in range(3):
        with subtests.test(i=i):
            assert i * 2 == i + i


class WithALeakingSubTest(unittest.TestCase):
    def test_leak_in_a_subtest_fails(self):
        for i in range(2):
            with self.subTest(i=i):
                if i == 1:
                    KEPT.append(LeakedFromASubtest())


def _subtests(request):
    try:
        return request.getfixturevalue("subtests")
    except pytest.FixtureLookupError:
        pytest.skip("no subtests fixture (pytest 9, or pytest-subtests)")
