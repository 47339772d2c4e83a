"""Leaks of objects the collector does not list (strs), into a container that a class or a
module-level instance of the project holds as an attribute; what the standard library's
bounded caches hold (re's compiled patterns) is none. `pytest --refgraph-leaks attributes`:
2 failed, 4 passed (in this order: the last test asks whether the check ran a lazy object's
code)."""
import re


class Registry:
    seen = []                    # a cache on the class

    def __init__(self):
        self.names = {}          # a module-level instance's dict

    def register(self, key):
        self.names[key] = "v%s" % key


REGISTRY = Registry()
_N = [0]


def test_class_attribute_cache_of_strs_fails():
    for i in range(200):
        Registry.seen.append("item-%d" % i)


def test_singleton_dict_of_strs_fails():
    _N[0] += 1
    for i in range(200):
        REGISTRY.register("%d-%d" % (_N[0], i))


def test_a_registry_of_its_own_passes():
    registry = Registry()
    registry.register(1)


_PATTERNS = [0]


def test_new_patterns_in_re_cache_pass():
    _PATTERNS[0] += 1
    for i in range(20):
        assert re.match("p%d-%d" % (_PATTERNS[0], i), "p%d-%d" % (_PATTERNS[0], i))


ASKED = []


class LazyProxy:
    """Like a lazy settings object: asking its __class__ runs code of the program."""

    @property
    def __class__(self):
        ASKED.append("__class__")
        return dict


LAZY = LazyProxy()


def test_collection_is_over():
    ASKED.clear()       # (pytest's collection asks every global's __class__)


def test_the_check_never_asked_the_proxy():
    assert ASKED == []
