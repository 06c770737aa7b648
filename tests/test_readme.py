"""The README's library examples are run as doctests: what it promises is what the library prints."""

import doctest
import os


def test_readme_examples():
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
    failures, tried = doctest.testfile(path, module_relative=False, optionflags=doctest.ELLIPSIS)
    assert tried >= 6 and failures == 0
