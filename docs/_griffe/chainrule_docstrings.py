"""A Griffe extension for the API reference: docstrings as chainrule writes them.

- chainrule heads its runnable examples ``Example:`` (Google style allows ``Example:`` and
  ``Examples:``); Griffe reads only ``Examples:`` as an examples section and any other
  ``Title:`` as an admonition, whose ``>>>`` lines Markdown would turn into block quotes.
- A class may assemble its docstring from shared parts (``__doc__ = ... + ...``: the RNN
  family); static analysis sees no docstring there, so it is read from the imported class.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE_HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ChainruleDocstrings(griffe.Extension):
    """Reads ``Example:`` as ``Examples:``, and assembled class docstrings from the class."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.is_class and obj.docstring is None and "__doc__" in obj.members:
            text = griffe.dynamic_import(obj.path).__doc__
            obj.docstring = griffe.Docstring(text, parent=obj)
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE_HEADING.sub(r"\1Examples:", obj.docstring.value)
