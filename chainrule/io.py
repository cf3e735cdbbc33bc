"""Saving and loading models and state dicts as ``.safetensors`` files — never pickle.

A file is the ecosystem's safetensors format: an 8-byte little-endian header length, a JSON
header (each tensor's dtype, shape and byte offsets, plus a string-to-string ``__metadata__``
map), then the raw little-endian tensor bytes. chainrule stores its own facts as one JSON
document under the metadata key ``"chainrule"``: the format version, the kind of file
(``"model"``, ``"state"`` or ``"checkpoint"``), each tensor's dtype and, for ``cr.save``, the
architecture from ``chainrule.nn.module.module_spec``.

Loading never executes code: an architecture names classes that are looked up in chainrule's
registry (or in ``custom_objects``), and their arguments are plain JSON data. Loading also never
allocates memory that a file merely claims: the header length, every dtype, shape and offset are
checked against the real file size before the safetensors package reads any tensor, and an
architecture whose layer sizes could not fit the stored weights is refused before it is built.
A truncated, corrupted or hostile file raises ``LoadError`` naming the file and the problem.

Files are written atomically (a temporary file in the same directory, flushed and synced, then
renamed over the target), so a process killed while saving leaves the previous file intact. A
kill can leave temporary files behind (``.NAME.<random>.tmp``, and the safetensors writer's own
``.tmp<random>``); they are safe to delete.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> import chainrule as cr
    >>> path = os.path.join(tempfile.mkdtemp(), "weights.safetensors")
    >>> cr.save_state({"w": np.ones((2, 3), dtype=np.float32)}, path)
    >>> cr.load_state(path)["w"].shape
    (2, 3)
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
import uuid
from collections.abc import Mapping

import numpy as np
import safetensors
import safetensors.numpy

from .nn.module import REGISTRY, Module, module_from_spec, module_spec
from .random import get_rng_state, set_rng_state
from .tensor import Tensor

__all__ = [
    "LoadError", "load_metadata", "load_model", "load_state", "load_state_into",
    "read_safetensors", "save",
    "save_state", "write_safetensors",
]

FORMAT_VERSION = 1
_META_KEY = "chainrule"
# safetensors' own cap on the header; anything larger is refused before it is read.
_MAX_HEADER_BYTES = 100_000_000
_MAX_NDIM = 64  # NumPy's limit; also keeps a hostile shape list from costing time to multiply
# The dtype names in the safetensors header that NumPy can hold, and their NumPy dtypes.
_DTYPES = {
    "BOOL": np.dtype(np.bool_), "U8": np.dtype(np.uint8), "I8": np.dtype(np.int8),
    "U16": np.dtype(np.uint16), "I16": np.dtype(np.int16), "F16": np.dtype(np.float16),
    "U32": np.dtype(np.uint32), "I32": np.dtype(np.int32), "F32": np.dtype(np.float32),
    "U64": np.dtype(np.uint64), "I64": np.dtype(np.int64), "F64": np.dtype(np.float64),
    "C64": np.dtype(np.complex64),
}
_NUMPY_DTYPES = frozenset(_DTYPES.values())
# An architecture may describe layers a little larger than the weights stored (arguments such
# as stride multiply into the estimate), but never orders of magnitude larger.
_SPEC_SLACK, _SPEC_FLOOR = 64, 2**24


class LoadError(ValueError):
    """A file cannot be loaded: truncated, corrupted, hostile, or not what the caller expects."""


# ---------------------------------------------------------------------------------- writing
def write_safetensors(path: str | os.PathLike, tensors: Mapping[str, np.ndarray], *,
                      kind: str, **fields) -> None:
    """Write ``tensors`` and chainrule's metadata to ``path`` atomically.

    Args:
        path: the target file; its directory must exist.
        tensors: name -> array (or ``Tensor``) of a dtype safetensors holds (bool, 8 to 64-bit
            ints, float16/32/64, complex64). Non-contiguous and big-endian arrays are
            converted; contiguous ones are written without a copy.
        kind: ``"model"``, ``"state"`` or ``"checkpoint"``; ``read_safetensors`` can insist on it.
        fields: further JSON-able facts stored in the metadata (``architecture=...``).

    Raises:
        TypeError: a name is not a string or an array has a dtype the format cannot hold.
    """
    arrays = {name: _contiguous(name, value) for name, value in tensors.items()}
    info = {"format_version": FORMAT_VERSION, "kind": kind,
            "dtypes": {name: array.dtype.name for name, array in arrays.items()}, **fields}
    metadata = {_META_KEY: json.dumps(info)}
    target = os.path.abspath(os.fspath(path))
    directory, base = os.path.split(target)
    temporary = os.path.join(directory, f".{base}.{uuid.uuid4().hex[:12]}.tmp")
    # Creating the file ourselves (O_EXCL) reserves the name and tells us the usual permissions
    # (0666 less the umask), which safetensors, writing owner-only files, would not give it.
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        mode = stat.S_IMODE(os.stat(temporary).st_mode)
        safetensors.numpy.save_file(arrays, temporary, metadata=metadata)
        os.chmod(temporary, mode)
        _fsync(temporary, os.O_RDWR)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    if os.name == "posix":  # the rename itself is durable only once the directory is synced
        _fsync(directory, os.O_RDONLY)


def _contiguous(name, value) -> np.ndarray:
    if not isinstance(name, str) or name == "__metadata__":
        raise TypeError(f"tensor names must be strings other than '__metadata__', got {name!r}")
    array = np.asarray(value.data if isinstance(value, Tensor) else value)
    if array.dtype.newbyteorder("=") not in _NUMPY_DTYPES:
        raise TypeError(
            f"cannot save {name!r}: dtype {array.dtype} is not one safetensors holds "
            f"(expected one of {sorted(d.name for d in _NUMPY_DTYPES)})"
        )
    # safetensors reads the raw buffer, so a strided view would be written scrambled.
    return np.asarray(array, dtype=array.dtype.newbyteorder("<"), order="C")


def _fsync(path: str, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------- reading
def read_safetensors(path: str | os.PathLike, *, kind: str | None = None
                     ) -> tuple[dict[str, np.ndarray], dict]:
    """Validate and read a safetensors file: ``(name -> array, chainrule metadata)``.

    The metadata is ``{}`` for files written by other tools. With ``kind``, a chainrule file of
    another kind is refused.

    Raises:
        FileNotFoundError: no such file.
        LoadError: the file is not a well-formed safetensors file, or is of another kind.
    """
    path = os.fspath(path)
    header, metadata = _validated_header(path)
    info = _chainrule_info(path, metadata, header)
    if kind is not None and info.get("kind", kind) != kind:
        raise LoadError(f"{path} holds a chainrule {info['kind']}, not a {kind}")
    try:
        tensors = safetensors.numpy.load_file(path)
    except (safetensors.SafetensorError, ValueError, KeyError) as error:
        raise LoadError(f"{path}: the safetensors reader refused the file: {error}") from None
    # The writer orders tensors by alignment; give them back in the order they were saved.
    return {name: tensors[name] for name in info.get("dtypes", header)}, info


def _validated_header(path: str) -> tuple[dict, dict]:
    """Check the whole header against the file before any tensor is read."""
    with open(path, "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise LoadError(f"{path} is not a regular file")
        size = status.st_size
        if size < 8:
            raise LoadError(f"{path} is {size} bytes, too short for a safetensors file (an "
                            "8-byte header length, then the header): truncated or not one")
        (length,) = struct.unpack("<Q", file.read(8))
        if length > size - 8 or length > _MAX_HEADER_BYTES:
            raise LoadError(f"{path}: the header claims {length:,} bytes but the file has "
                            f"{size - 8:,} after the length (limit {_MAX_HEADER_BYTES:,}); "
                            "truncated or not a safetensors file")
        raw = file.read(length)
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise LoadError(f"{path}: the header is not valid JSON ({error}); "
                        "truncated, corrupted or not a safetensors file") from None
    if not isinstance(header, dict):
        raise LoadError(f"{path}: the header is a JSON {type(header).__name__}, not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise LoadError(f"{path}: '__metadata__' must map strings to strings")
    spans = [_tensor_span(path, name, entry, size - 8 - length) for name, entry in header.items()]
    end = 0
    for begin, stop, name in sorted(spans):
        if begin != end:
            problem = "overlaps the tensor before it" if begin < end else "leaves a gap before it"
            raise LoadError(f"{path}: tensor {name!r} at bytes {begin}..{stop} {problem} "
                            f"(previous tensor ends at {end})")
        end = stop
    if end != size - 8 - length:
        raise LoadError(f"{path}: {size - 8 - length - end:,} bytes follow the last tensor")
    return header, metadata


def _unique_keys(pairs: list) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate keys in a JSON object")
    return result


def _tensor_span(path: str, name: str, entry, data_bytes: int) -> tuple[int, int, str]:
    """Check one header entry; returns its (begin, end, name) within the data section."""
    where = f"{path}: tensor {name!r}"
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise LoadError(f"{where}: expected an object with dtype, shape and data_offsets, "
                        f"got {entry!r:.200}")
    dtype = _DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
    if dtype is None:
        raise LoadError(f"{where}: dtype {entry['dtype']!r:.50} is not one of {sorted(_DTYPES)}")
    shape, offsets = entry["shape"], entry["data_offsets"]
    if not (isinstance(shape, list) and len(shape) <= _MAX_NDIM
            and all(type(n) is int and n >= 0 for n in shape)):
        raise LoadError(f"{where}: shape {shape!r:.200} is not a list of at most {_MAX_NDIM} "
                        "non-negative integers")
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(type(n) is int for n in offsets) and 0 <= offsets[0] <= offsets[1]):
        raise LoadError(f"{where}: data_offsets {offsets!r:.200} are not [begin, end] with "
                        "0 <= begin <= end")
    if offsets[1] > data_bytes:
        raise LoadError(f"{where}: bytes {offsets[0]}..{offsets[1]} lie outside the "
                        f"{data_bytes:,} bytes of tensor data in the file; truncated?")
    claimed = math.prod(shape) * dtype.itemsize
    if claimed != offsets[1] - offsets[0]:
        raise LoadError(f"{where}: shape {tuple(shape)} of {dtype} needs {claimed:,} bytes but "
                        f"its offsets span {offsets[1] - offsets[0]:,}")
    return offsets[0], offsets[1], name


def _chainrule_info(path: str, metadata: dict, header: dict) -> dict:
    if _META_KEY not in metadata:
        return {}
    try:
        info = json.loads(metadata[_META_KEY])
    except (ValueError, RecursionError) as error:
        raise LoadError(f"{path}: chainrule's metadata is not valid JSON ({error})") from None
    if not isinstance(info, dict) or not isinstance(info.get("kind"), str):
        raise LoadError(f"{path}: chainrule's metadata is not an object with a 'kind'")
    version = info.get("format_version")
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        raise LoadError(f"{path}: format version {version!r} is not one this chainrule reads "
                        f"(1..{FORMAT_VERSION}); it may come from a newer chainrule")
    dtypes = info.get("dtypes")
    stored = {name: _DTYPES[entry["dtype"]].name for name, entry in header.items()}
    if dtypes != stored:
        raise LoadError(f"{path}: the dtypes recorded in chainrule's metadata do not match the "
                        "tensors in the file; it was altered or corrupted")
    return info


# ---------------------------------------------------------------------------------- public API
def save(model: Module, path: str | os.PathLike, metadata: Mapping | None = None) -> None:
    """Save a model built from chainrule's layers: its weights and its architecture.

    ``load_model(path)`` rebuilds it without the code that built it. A model containing a class
    of your own cannot be described this way: save it with ``save_state`` and rebuild it in code.

    Args:
        model: a ``Module`` whose classes are all chainrule's own (or registered in
            ``chainrule.nn.module.REGISTRY``) and whose constructor arguments are plain data.
        path: the file to write, conventionally ``*.safetensors``.
        metadata: JSON-able facts the model needs besides its weights (a text model's
            vocabulary, class names); ``load_metadata(path)`` reads them back.

    Raises:
        TypeError: the architecture cannot be described (a custom class, a non-data argument),
            or ``metadata`` is not JSON-able.

    Example:
        >>> import os, tempfile
        >>> import chainrule as cr
        >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
        >>> cr.save(cr.nn.Sequential(cr.nn.Linear(4, 2)), path)
        >>> cr.load_model(path)
        Sequential(
          (0): Linear(in_features=4, out_features=2, bias=True)
        )
    """
    try:
        architecture = module_spec(model)
    except TypeError as error:
        raise TypeError(f"cr.save: {error}") from error
    fields = {"architecture": architecture}
    if metadata is not None:
        try:  # fail before writing anything, naming the argument
            json.dumps(metadata)
        except (TypeError, ValueError) as error:
            raise TypeError(f"cr.save: metadata must be JSON-able data: {error}") from None
        fields["metadata"] = dict(metadata)
    write_safetensors(path, model.state_dict(), kind="model", **fields)


def load_metadata(path: str | os.PathLike) -> dict:
    """The ``metadata`` a model was saved with (``{}`` when none), read from the file's header
    without loading any tensor.

    Raises:
        FileNotFoundError: no such file.
        LoadError: a bad file, or metadata that is not a JSON object.
    """
    path = os.fspath(path)
    header, metadata = _validated_header(path)
    found = _chainrule_info(path, metadata, header).get("metadata", {})
    if not isinstance(found, dict):
        raise LoadError(f"{path}: the saved metadata is a JSON {type(found).__name__}, not an "
                        "object")
    return found


def load_model(path: str | os.PathLike, custom_objects: Mapping[str, type] | None = None
               ) -> Module:
    """Rebuild a model written by ``save`` and load its weights (every name and shape must match).

    Floating-point weights keep the dtype they were saved in.

    Args:
        path: a file written by ``cr.save``.
        custom_objects: class name -> ``Module`` subclass, for architectures naming classes
            outside chainrule (only these classes and chainrule's own can be built).

    Raises:
        FileNotFoundError: no such file.
        LoadError: a bad file, no architecture in it, an unknown class, or weights that do not
            fit the architecture.
    """
    path = os.fspath(path)
    tensors, info = read_safetensors(path)
    if info.get("kind") == "checkpoint":
        raise LoadError(f"{path} is a checkpoint: read it with load_checkpoint")
    if "architecture" not in info:
        raise LoadError(f"{path} holds weights but no architecture (it was not written by "
                        "cr.save): build the model in code and use cr.load_state(path, into=model)")
    classes = {**REGISTRY, **(custom_objects or {})}
    _check_architecture(path, info["architecture"], classes,
                        sum(a.size for a in tensors.values()))
    # Constructors draw initial weights that the file then replaces; those draws must not move
    # the global random stream, or loading a model would change the rest of a seeded run.
    rng_state = get_rng_state()
    try:
        model = module_from_spec(info["architecture"], custom_objects)
    # Untrusted arguments can make a constructor fail in any way; all of them mean "bad file".
    except Exception as error:  # noqa: BLE001
        raise LoadError(f"{path}: cannot rebuild the model from its architecture: "
                        f"{type(error).__name__}: {error}") from None
    finally:
        set_rng_state(rng_state)
    floats = {a.dtype for a in tensors.values() if a.dtype.kind == "f"}
    if len(floats) == 1:
        (dtype,) = floats
        if any(p.data.dtype != dtype for p in model.parameters()):
            model.astype(dtype)
    load_state_into(model, tensors, source=path)
    return model


def save_state(state: Module | Mapping[str, np.ndarray], path: str | os.PathLike) -> None:
    """Save a module's ``state_dict()`` (or a state dict itself) without an architecture.

    Args:
        state: a ``Module`` or a mapping of names to arrays or tensors.
        path: the file to write.
    """
    if isinstance(state, Module):
        state = state.state_dict()
    write_safetensors(path, state, kind="state")


def load_state(path: str | os.PathLike, into: Module | None = None, strict: bool = True
               ) -> dict[str, np.ndarray]:
    """Read a state dict from a safetensors file, optionally loading it into a module.

    Any safetensors file of NumPy-compatible dtypes can be read, including other tools' files.

    Args:
        path: a file written by ``save_state`` or ``save`` (or another safetensors writer).
        into: a module whose parameters and buffers receive the arrays (cast to their dtypes).
        strict: with ``into``, every name must match both ways.

    Returns:
        name -> array.

    Raises:
        FileNotFoundError: no such file.
        LoadError: a bad file, a checkpoint, or (with ``into``) names or shapes that do not fit.
    """
    path = os.fspath(path)
    tensors, info = read_safetensors(path)
    if info.get("kind") == "checkpoint":
        raise LoadError(f"{path} is a checkpoint: read it with load_checkpoint")
    if into is not None:
        load_state_into(into, tensors, source=path, strict=strict)
    return tensors


def load_state_into(module: Module, state: Mapping, *, source: str, strict: bool = True) -> None:
    """``module.load_state_dict(state, strict)``, its failures reported as ``LoadError``."""
    try:
        module.load_state_dict(state, strict=strict)
    except KeyError as error:
        raise LoadError(f"{source}: the state does not fit {type(module).__name__}: "
                        f"{error.args[0]}") from None
    except (ValueError, TypeError) as error:
        raise LoadError(f"{source}: the state does not fit {type(module).__name__}: "
                        f"{error}") from None


def _check_architecture(path: str, spec, classes: Mapping[str, type], stored_values: int
                        ) -> None:
    """Refuse unknown classes, and layer sizes that dwarf the weights, before building anything.

    A layer's parameter count is at most about the product of its integer arguments (``Linear``:
    in x out), so a product far above the number of stored values marks a hostile or corrupted
    architecture that would otherwise allocate memory the file only claims.
    """
    budget = max(_SPEC_SLACK * stored_values, _SPEC_FLOOR)
    unknown: list[str] = []
    pending = [spec]
    while pending:
        node = pending.pop()
        if not isinstance(node, dict) or not isinstance(node.get("class"), str):
            raise LoadError(f"{path}: the architecture has {node!r:.200} where a layer "
                            "description ({'class': ..., 'config': {...}}) belongs")
        if node["class"] not in classes:
            unknown.append(node["class"])
        config = node.get("config", {})
        product, values = 1, [config]
        while values:
            value = values.pop()
            if isinstance(value, dict) and "__module__" in value:
                pending.append(value["__module__"])
            elif isinstance(value, (dict, list)):
                values.extend(value.values() if isinstance(value, dict) else value)
            elif type(value) is int and abs(value) > 1:
                product *= abs(value)
                if product > budget:
                    raise LoadError(
                        f"{path}: layer {node['class']!r:.50} has sizes {config!r:.200} far "
                        f"beyond the {stored_values:,} values stored in the file; the "
                        "architecture is corrupted or hostile"
                    )
    if unknown:
        raise LoadError(
            f"{path}: the architecture uses classes that are not chainrule layers: "
            f"{sorted(set(unknown))}; pass custom_objects={{name: class}} to load_model, or "
            "save such models with cr.save_state and load them with cr.load_state(path, into=model)"
        )
