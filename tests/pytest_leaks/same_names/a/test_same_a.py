"""Two files with a test of the same name, both leaking: each gets its own snapshot."""


class Kept:
    pass


KEPT = []


def test_leaks():
    KEPT.append(Kept())
