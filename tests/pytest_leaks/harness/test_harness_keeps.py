"""Clean tests whose only traces are what pytest itself keeps: recorded warnings, subtest
reports, doctests, the instance of a test class (and what a test sets on `self`). `pytest --refgraph-leaks --doctest-modules harness` passes them all."""
import unittest
import warnings

import pytest

_N = [0]


def test_deprecated_api():
    warnings.warn("old_api() is deprecated", DeprecationWarning)


@pytest.mark.filterwarnings("always")
def test_userwarning_always():
    warnings.warn("careful", UserWarning)


def test_a_new_message_each_run():
    _N[0] += 1
    warnings.warn("retry %d" % _N[0], UserWarning)


class Part:
    pass


class TestKeepsItsInstance:
    def test_sets_attributes_on_self(self):
        self.parts = [Part() for _ in range(3)]
        self.index = {"first": self.parts[0]}


class WithSubtests(unittest.TestCase):
    def test_subtests(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertGreaterEqual(i, 0)


def double(x):
    """
    >>> double(SEED)
    42
    """
    return 2 * x


SEED = 21
