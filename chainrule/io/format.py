"""The file format: safetensors with chainrule's facts in its metadata, validated before reading.

A file is the ecosystem's safetensors format: an 8-byte little-endian header length, a JSON
header (each tensor's dtype, shape and byte offsets, plus a string-to-string ``__metadata__``
map), then the raw little-endian tensor bytes. chainrule stores its own facts as one JSON
document under the metadata key ``"chainrule"``: the format version, the kind of file
(``"model"``, ``"state"`` or ``"checkpoint"``), each tensor's dtype, and what the kind adds
(an architecture, metadata, a checkpoint's structure).

Reading never allocates memory that a file merely claims: the header length, every dtype, shape
and offset are checked against the real file size before any tensor is read; then each tensor
is read from its checked span into an array of its own (together the size of the tensor data,
twice that for bfloat16, which is widened). A truncated, corrupted or hostile file raises
``LoadError`` naming the file and the problem.

Besides NumPy's dtypes, files from other tools may hold bfloat16 (``BF16``, most published
PyTorch checkpoints): NumPy has no such dtype, so these tensors are read as float32. The
conversion is exact, because a bfloat16 is the upper 16 bits of a float32.

Files are written atomically (a temporary file in the same directory, flushed and synced, then
renamed over the target), so a process killed while saving leaves the previous file intact. A
kill can leave temporary files behind (``.NAME.<random>.tmp``, and the safetensors writer's own
``.tmp<random>``); they are safe to delete.
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
import safetensors.numpy

from ..backend import asarray, to_host
from ..tensor import Tensor
from .files import LoadError, open_regular

__all__ = ["LoadError", "read_info", "read_safetensors", "write_safetensors"]

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
# bfloat16 has no NumPy dtype: its 16-bit payloads are read as uint16 and widened to float32.
_BFLOAT16 = "BF16"
_READ_AS = {**_DTYPES, _BFLOAT16: np.dtype(np.uint16)}  # header dtype -> dtype of its bytes


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

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "raw.safetensors")
        >>> write_safetensors(path, {"w": np.ones(3, np.float32)}, kind="state", note="hi")
        >>> read_info(path)["note"]
        'hi'


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
    # Weights on a GPU come to the host for the file.
    array = to_host(asarray(value.data if isinstance(value, Tensor) else value))
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
    another kind is refused. bfloat16 tensors come back as float32 (exactly; NumPy has no
    bfloat16); every other tensor keeps its dtype.

    Raises:
        FileNotFoundError: no such file.
        LoadError: the file is not a well-formed safetensors file, or is of another kind.
    """
    path = os.fspath(path)
    header, metadata = _validated_header(path)
    info = _chainrule_info(path, metadata, header)
    if kind is not None and info.get("kind", kind) != kind:
        raise LoadError(f"{path} holds a chainrule {info['kind']}, not a {kind}")
    tensors = _read_tensors(path, header)
    # The writer orders tensors by alignment; give them back in the order they were saved.
    return {name: tensors[name] for name in info.get("dtypes", header)}, info


def _read_tensors(path: str, header: dict) -> dict[str, np.ndarray]:
    """Read each tensor from its validated span, in file order, into an array of its own."""

    tensors = {}
    with open_regular(path, "a .safetensors file") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
            begin, end = entry["data_offsets"]
            stored = _READ_AS[entry["dtype"]].newbyteorder("<")  # the format is little-endian
            count = (end - begin) // stored.itemsize
            file.seek(8 + length + begin)
            array = np.fromfile(file, dtype=stored, count=count)
            if array.size != count:
                raise LoadError(f"{path}: tensor {name!r} ends past the end of the file, which "
                                "was truncated while it was being read")
            if entry["dtype"] == _BFLOAT16:
                array = _bfloat16_to_float32(array)
            native = array.astype(array.dtype.newbyteorder("="), copy=False)
            tensors[name] = native.reshape(entry["shape"])
    return tensors


def _bfloat16_to_float32(payloads: np.ndarray) -> np.ndarray:
    """bfloat16 keeps a float32's sign, exponent and top 7 mantissa bits: shifting its 16 bits
    into the upper half of a 32-bit word gives that float32 exactly (NaN and infinity included).
    """
    words = payloads.astype(np.uint32)
    words <<= 16
    return words.view(np.float32)


def read_info(path: str | os.PathLike) -> dict:
    """chainrule's metadata of a file (``{}`` for other tools' files), read from its header
    without loading any tensor; the whole header is validated as for ``read_safetensors``.

    Raises:
        FileNotFoundError: no such file.
        LoadError: the file is not a well-formed safetensors file.
    """
    path = os.fspath(path)
    header, metadata = _validated_header(path)
    return _chainrule_info(path, metadata, header)


def _validated_header(path: str) -> tuple[dict, dict]:
    """Check the whole header against the file before any tensor is read."""

    with open_regular(path, "a .safetensors file") as file:
        size = os.fstat(file.fileno()).st_size
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
    dtype = _READ_AS.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
    if dtype is None:
        raise LoadError(f"{where}: dtype {entry['dtype']!r:.50} is not one of {sorted(_READ_AS)}")
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
        raise LoadError(f"{where}: shape {tuple(shape)} of {entry['dtype']} needs {claimed:,} "
                        f"bytes but its offsets span {offsets[1] - offsets[0]:,}")
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
    # chainrule writes no bfloat16: a file claiming one alongside chainrule's metadata was altered.
    stored = {name: _DTYPES[entry["dtype"]].name if entry["dtype"] in _DTYPES else entry["dtype"]
              for name, entry in header.items()}
    if dtypes != stored:
        raise LoadError(f"{path}: the dtypes recorded in chainrule's metadata do not match the "
                        "tensors in the file; it was altered or corrupted")
    return info
