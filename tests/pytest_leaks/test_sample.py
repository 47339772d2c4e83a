"""The sample project of the pytest plugin's test (tests/wheel_check.py runs it): four tests
that leak, each through another holder, and four that do not. Names say which is which: with
--refgraph-leaks exactly the test_leaks_* tests fail; without it every test passes."""
import functools
import gc
import logging

# --- what leaks ----------------------------------------------------------------------------

REGISTRY = []


class Session:
    def __init__(self, user):
        self.user = user


def test_leaks_through_a_module_level_list():
    REGISTRY.append(Session("alice"))


class PriceService:
    @functools.lru_cache(maxsize=None)
    def price(self, item):
        return len(item)


def test_leaks_through_an_lru_cache_on_a_method():
    service = PriceService()     # the cache keeps every service it was called on
    assert service.price("apple") == 5


class EventBus:
    def __init__(self):
        self.listeners = []

    def subscribe(self, callback):
        self.listeners.append(callback)


BUS = EventBus()


class Widget:
    def on_event(self, event):
        pass


def test_leaks_through_a_bound_method_listener():
    widget = Widget()
    BUS.subscribe(widget.on_event)    # never unsubscribed: the bus holds the widget


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_leaks_through_a_logging_handler():
    logging.getLogger("sample.leaky").addHandler(ListHandler())    # never removed


# --- what does not leak --------------------------------------------------------------------

RECORDS = []


def test_leaks_plain_records_into_a_module_list():
    # dicts of plain values are not tracked by the collector: the list they pile up in is named
    for i in range(100):
        RECORDS.append({"id": i, "name": "user%d" % i})


BLOBS = {}


def test_leaks_bytes_into_a_module_cache():
    BLOBS[len(BLOBS)] = b"x" * 100_000


def test_clean():
    data = [Session("bob") for _ in range(10)]
    assert len(data) == 10


_CONFIG = {}


def _config():
    if not _CONFIG:
        _CONFIG["settings"] = {"debug": [Session("config")]}   # filled on first use only
    return _CONFIG


def test_fills_a_bounded_cache_once():
    assert _config()["settings"]["debug"]


class Node:
    def __init__(self):
        self.other = None


def test_makes_a_collectable_cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a


def test_uses_tmp_path_and_caplog(tmp_path, caplog):
    (tmp_path / "x.txt").write_text("hello")
    logging.getLogger("sample.quiet").warning("logged %s", Session("carol").user)
    assert "logged" in caplog.text
    gc.collect()
