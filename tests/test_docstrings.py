"""Every docstring example in chainrule runs and prints what it shows (doctest).

One test per docstring, named by the object it documents. Examples compare with ``...`` (any
text) and with whitespace normalised, and run in a fresh temporary folder (``tempfile`` writes
there too) after the suite's global seed. An example that needs minutes or data that cannot be
made on the spot carries ``# doctest: +SKIP``, and its docstring says what it needs.
"""

import copy
import doctest
import importlib
import pkgutil
import tempfile

import pytest
from optional_packages import missing_package, missing_package_in_report

import chainrule

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _docstrings_with_examples() -> tuple[list[doctest.DocTest], list]:
    """The docstrings with an example of every module under ``chainrule``, and a skipped test
    for each module that needs an optional package that is not installed."""
    finder = doctest.DocTestFinder()
    found, unimportable = [], []
    for info in pkgutil.walk_packages(chainrule.__path__, "chainrule."):
        try:
            module = importlib.import_module(info.name)
        except ImportError as error:
            missing = missing_package(error)
            if missing is None:
                raise
            reason = f"{info.name}: {missing}"
            unimportable.append(pytest.param(None, id=info.name, marks=pytest.mark.skip(reason)))
            continue
        found.extend(test for test in finder.find(module) if test.examples)
    return sorted(found, key=lambda test: test.name), unimportable


DOCSTRINGS, UNIMPORTABLE = _docstrings_with_examples()


def test_examples_are_found_across_the_package():
    assert len(DOCSTRINGS) > 100  # 107 when this test was written
    names = [test.name for test in DOCSTRINGS]
    for module in ("chainrule.tensor", "chainrule.nn.linear", "chainrule.optim.adam"):
        assert any(name.startswith(module + ".") for name in names), module


@pytest.mark.parametrize("docstring", [
    *(pytest.param(test, id=test.name[len("chainrule."):]) for test in DOCSTRINGS), *UNIMPORTABLE])
def test_docstring_example(docstring, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    test = copy.copy(docstring)
    test.globs = dict(docstring.globs)  # the run clears its namespace; keep the collected one
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    failed, attempted = runner.run(test, out=report.append)
    if attempted == 0:
        pytest.skip("every example is marked '# doctest: +SKIP'")
    if failed:
        missing = missing_package_in_report("".join(report))
        if missing is not None:  # an example of an optional part, on a machine without it
            pytest.skip(missing)
        pytest.fail("".join(report), pytrace=False)
