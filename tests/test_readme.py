"""The README's Python examples run as written, in order, and do what the text says."""

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_examples_run_and_learn():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 3  # five steps, fit, explain: a new example gets checked here too
    out = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
    printed = out.getvalue()
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", printed).group(1))
    assert accuracy > 0.8  # the five steps train a real classifier (10 classes: chance is 0.1)
    assert len(namespace["history"].history["loss"]) >= 1
    assert "every checked gradient agrees with central differences" in printed
