"""The test suite.

It writes bytecode even where the environment sets PYTHONDONTWRITEBYTECODE (set here, as this package is
imported before the first conftest): otherwise every test process compiles the bot again and redoes pytest's
assertion rewriting of every test module, which made collecting the suite take 3.3 s of CPU per process
instead of 1.0 s, and `-n auto` starts one process per core. The caches are the `__pycache__` folders of the
checkout, which .gitignore and .dockerignore leave out; the libraries' caches were written when they were
installed.
"""

import sys

sys.dont_write_bytecode = False
