"""``import chainrule`` loads the core only: the data sets, the text toolkit and what they pull
in (urllib, http, the corpora) load on first use. Its time is measured by
``benchmarks/import_time.py``, never by a unit test."""

import subprocess
import sys

_LAZY = ("chainrule.datasets", "chainrule.text", "chainrule.onnx", "chainrule.sklearn",
         "urllib.request", "http.client", "shutil", "tqdm", "matplotlib")


def test_import_chainrule_leaves_the_toolkits_for_later():
    code = ("import sys, chainrule; print(' '.join(sorted(m for m in sys.modules if m in "
            f"{_LAZY!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == []


def test_lazy_subpackages_load_on_first_use():
    code = ("import chainrule as cr; print(cr.datasets.load_digits.__name__, "
            "cr.text.Vocabulary.__name__, cr.audio.read_wav.__name__, 'datasets' in dir(cr))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["load_digits", "Vocabulary", "read_wav", "True"]
