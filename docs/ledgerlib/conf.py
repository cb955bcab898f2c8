"""Sphinx configuration of ledgerlib's reference documentation.

Built by bin/lint.sh (so by CI) with warnings as errors and nitpicky
cross-references: a docstring that names a class, method or module that does
not exist fails the build.
    python -m sphinx -W --keep-going -n -q -b html docs/ledgerlib build/ledgerlib-docs
"""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

project = "ledgerlib"
author = "the wallet team"
release = "2.0.0"
version = "2.0"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True}
# Signatures show the annotations as written; references are checked in the
# docstrings' text, where the library names its own classes and methods.
autodoc_typehints = "none"
nitpicky = True
# Outside names a docstring may mention (no network at build time: no intersphinx).
nitpick_ignore_regex = [
    (r"py:.*", r"(sqlalchemy|datetime|dt|typing|collections|hypothesis|pytest)\..*"),
    (r"py:class", r"(AssertionError|ValueError|LookupError|Exception)"),
]
