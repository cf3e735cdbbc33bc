"""Saving and loading: models, state dicts and training checkpoints as ``.safetensors`` files —
never pickle.

- ``format``: the safetensors file with chainrule's metadata; validated against the file's size
  before any tensor is read; written atomically. ``LoadError`` for every bad file.
- ``architecture``: a model as JSON data (``module_spec``/``module_from_spec``), rebuilt only
  from chainrule's registry of layer classes, with size budgets checked before building.
- ``metadata``: the JSON facts a model carries besides its weights.
- ``model``: ``save``/``load_model`` and ``save_state``/``load_state``.
- ``checkpoint``: ``save_checkpoint``/``load_checkpoint`` for resumable training.
- ``torch_state``: ``load_torch_state``, a PyTorch ``state_dict`` saved as safetensors (bfloat16,
  float16 or float32) loaded into the equivalent chainrule model.

Every file says what kind it is, and each loader insists on its kind.

Example:
    >>> import os, tempfile
    >>> import chainrule as cr
    >>> from chainrule.io import read_info
    >>> folder, model = tempfile.mkdtemp(), cr.nn.Linear(4, 2)
    >>> cr.save(model, os.path.join(folder, "model.safetensors"))
    >>> cr.save_checkpoint(os.path.join(folder, "run.ckpt"), model=model, epoch=3)
    >>> [read_info(os.path.join(folder, f))["kind"] for f in ("model.safetensors", "run.ckpt")]
    ['model', 'checkpoint']
"""

from .architecture import module_from_spec, module_spec
from .checkpoint import load_checkpoint, save_checkpoint
from .format import LoadError, read_info, read_safetensors, write_safetensors
from .metadata import load_metadata
from .model import load_model, load_state, load_state_into, save, save_state
from .torch_state import load_torch_state

__all__ = [
    "save", "load_model", "load_metadata", "save_state", "load_state", "load_state_into",
    "LoadError", "save_checkpoint", "load_checkpoint", "module_spec", "module_from_spec",
    "read_safetensors", "read_info", "write_safetensors", "load_torch_state",
]
