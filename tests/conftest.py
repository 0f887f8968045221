"""Suite-wide configuration: fixture plugins and generic fixtures only.

Domain fixtures (factories, publishers, channels) belong in the suite that uses them.
"""

from __future__ import annotations

import importlib.util

# Fixture plugins. A plugin that is still being written (absent) is skipped rather than
# breaking collection of the whole suite.
_FIXTURE_PLUGINS = ("tests.fixtures.worker", "tests.fixtures.sandbox")

pytest_plugins = [name for name in _FIXTURE_PLUGINS if importlib.util.find_spec(name) is not None]
