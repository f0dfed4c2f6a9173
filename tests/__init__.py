"""The test suite. Imported before any conftest or test module.

This machine sets PYTHONDONTWRITEBYTECODE: without a bytecode cache every run would compile
the package and rewrite every test module's assertions again, in each xdist worker (about
four of the ten seconds a worker spends collecting). The cache is turned back on here, for
everything imported after.
"""

import sys

sys.dont_write_bytecode = False
