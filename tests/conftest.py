import os
import sys

import pytest
from hypothesis import settings

sys.path.insert(0, os.path.dirname(__file__))

# Coefficient tables made by the tests go to a private directory, not the user's ~/.cache/spouge (servers
# started by the tests inherit it).  Set before spouge is imported.
if "SPOUGE_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["SPOUGE_CACHE_DIR"] = tempfile.mkdtemp(prefix="spouge-test-tables-")

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.register_profile("long", max_examples=20000, deadline=None)
settings.load_profile("long" if os.environ.get("SPOUGE_SLOW") else "ci")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("SPOUGE_SLOW"):
        return
    skip = pytest.mark.skip(reason="long run: opt in with SPOUGE_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
