"""Download a file once, verify its checksum, and move it into place atomically."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from ._progress import _steps
from .idx import _open

__all__: list[str] = []


def _content_sha256(path: Path) -> str:
    """SHA-256 of the file's content, after gzip decompression when it is compressed.

    Hashing the content rather than the bytes on the wire lets one checksum accept the same data
    recompressed (as distributions repackage it) or served uncompressed by a mirror.
    """
    digest = hashlib.sha256()
    with _open(path) as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str, dest: Path, sha256: str, timeout: float = 60.0) -> Path:
    """Fetch ``url`` to ``dest`` through a temporary file in the same folder.

    The temporary file is renamed onto ``dest`` only once its content matches ``sha256``, so an
    interrupted or corrupted download never leaves a file that later loads would trust.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    length = response.headers.get("Content-Length")
                    with _steps(int(length) if length and length.isdigit() else None,
                                f"downloading {dest.name}", "B") as bar:
                        for chunk in iter(lambda: response.read(1 << 20), b""):
                            out.write(chunk)
                            bar.update(len(chunk))
            except (urllib.error.URLError, OSError) as exc:
                raise ConnectionError(f"could not download {url}: {exc}") from exc
        try:
            actual = _content_sha256(tmp)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"downloaded {url} is not valid gzip data ({exc})") from exc
        if actual != sha256:
            raise ValueError(
                f"checksum mismatch for {url}: expected SHA-256 {sha256} of its content, got "
                f"{actual}; the download was discarded"
            )
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return dest
