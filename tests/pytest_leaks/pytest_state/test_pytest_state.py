"""What a test stores on pytest's own objects (the config, the session, a stash) is its leak
all the same, and a subtest that fails only on the body's first run still fails. `pytest
--refgraph-leaks pytest_state`: the three leaks fail, and so does the subtest."""
import unittest

import pytest


class Kept:
    pass


def test_leak_on_a_config_attribute_fails(pytestconfig):
    if not hasattr(pytestconfig, "kept_by_test"):
        pytestconfig.kept_by_test = []
    pytestconfig.kept_by_test.append(Kept())


KEY = pytest.StashKey()


def test_leak_in_the_config_stash_fails(request):
    request.config.stash.setdefault(KEY, []).append(Kept())


def test_leak_on_a_session_attribute_fails(request):
    if not hasattr(request.session, "kept_by_test"):
        request.session.kept_by_test = {}
    request.session.kept_by_test[len(request.session.kept_by_test)] = Kept()


RUNS = [0]


class FirstRunOnly(unittest.TestCase):
    def test_subtest_failing_on_the_first_run_fails(self):
        RUNS[0] += 1
        with self.subTest(run=1):
            self.assertGreater(RUNS[0], 1, "fails when run first")
