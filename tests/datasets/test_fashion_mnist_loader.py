"""Fashion-MNIST: real files when installed, the search order, and the verified download."""

import functools
import gzip
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from chainrule.datasets import fashion_mnist as fm
from chainrule.datasets import load_fashion_mnist

_REAL = fm.DEBIAN_DIR


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real data anywhere: empty cache, no Debian folder (where these tests put one, it is
    looked at), no CHAINRULE_DATA."""
    monkeypatch.setattr(fm, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.delenv("CHAINRULE_NO_SYSTEM_DATA", raising=False)
    return tmp_path


def _check_matches(result, arrays, flatten=False):
    (x_train, y_train), (x_test, y_test) = result
    for x, y, prefix in ((x_train, y_train, "train"), (x_test, y_test, "t10k")):
        images = arrays[f"{prefix}-images-idx3-ubyte"]
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.shape == ((len(images), 784) if flatten else (len(images), 1, 28, 28))
        np.testing.assert_array_equal(x.reshape(images.shape) * 255, images)
        np.testing.assert_array_equal(y, arrays[f"{prefix}-labels-idx1-ubyte"])


@pytest.mark.skipif(not (_REAL / "train-images-idx3-ubyte.gz").is_file(),
                    reason="Debian's dataset-fashion-mnist is not installed (apt-get install "
                           "dataset-fashion-mnist); this test checks its files")  # fmt: skip
def test_real_files_and_hard_coded_checksums():
    for name, sha256 in fm._FILES.items():
        with gzip.open(_REAL / f"{name}.gz") as f:
            assert hashlib.sha256(f.read()).hexdigest() == sha256
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(path=_REAL, download=False)
    assert x_train.shape == (60000, 1, 28, 28) and x_test.shape == (10000, 1, 28, 28)
    assert x_train.dtype == np.float32 and 0 == x_train.min() and x_train.max() == 1
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    assert y_train[:5].tolist() == [9, 0, 0, 3, 0]  # the published first labels


def test_explicit_path_raw_and_gzip(isolated, fake_fashion, write_idx):
    folder, arrays = fake_fashion
    _check_matches(load_fashion_mnist(path=folder, download=False), arrays)
    _check_matches(load_fashion_mnist(path=folder, flatten=True), arrays, flatten=True)
    raw = isolated / "raw"
    raw.mkdir()
    for name, array in arrays.items():
        write_idx(raw / name, array, gz=False)
    _check_matches(load_fashion_mnist(path=raw), arrays)
    with pytest.raises(FileNotFoundError, match="does not hold the four Fashion-MNIST files"):
        load_fashion_mnist(path=isolated / "empty")


def _install(folder: Path, root: Path) -> None:
    (root / "fashion-mnist").mkdir(parents=True)
    for f in folder.iterdir():
        (root / "fashion-mnist" / f.name).write_bytes(f.read_bytes())


def test_search_order(isolated, fake_fashion, monkeypatch, write_idx):
    folder, arrays = fake_fashion
    with pytest.raises(FileNotFoundError, match="no-debian.*dataset-fashion-mnist"):
        load_fashion_mnist(download=False)
    monkeypatch.setattr(fm, "DEBIAN_DIR", folder)
    _check_matches(load_fashion_mnist(download=False), arrays)

    # each earlier place wins over the later ones: mark each copy by its first test label
    for label, root in ((5, isolated / "cache"), (6, isolated / "env"), (7, isolated / "dir")):
        _install(folder, root)
        write_idx(root / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz",
                  np.array([label, 2, 8, 0], np.uint8))  # fmt: skip
    monkeypatch.setenv("CHAINRULE_DATA", str(isolated / "env"))
    (_, _), (_, y_test) = load_fashion_mnist(data_dir=isolated / "dir", download=False)
    assert y_test[0] == 7
    (_, _), (_, y_test) = load_fashion_mnist(download=False)
    assert y_test[0] == 6
    monkeypatch.delenv("CHAINRULE_DATA")
    (_, _), (_, y_test) = load_fashion_mnist(download=False)
    assert y_test[0] == 5


def test_invalid_contents(isolated, fake_fashion, write_idx):
    folder, _ = fake_fashion
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 3], np.uint8))
    with pytest.raises(ValueError, match=r"should hold 4 uint8 labels.*\(3,\)"):
        load_fashion_mnist(path=folder)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((4, 27, 28), np.uint8))
    with pytest.raises(ValueError, match=r"uint8 images of shape \(N, 28, 28\).*\(4, 27, 28\)"):
        load_fashion_mnist(path=folder)


@pytest.fixture
def server(fake_fashion):
    """An HTTP server on 127.0.0.1 serving the fake files; records the paths requested."""
    folder, _ = fake_fashion
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests.append(self.path)

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder))
    )
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", requests
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_and_caches(isolated, fake_fashion, server, monkeypatch):
    folder, arrays = fake_fashion
    url, requests = server
    sums = {}
    for name in arrays:
        with gzip.open(folder / f"{name}.gz") as f:
            sums[name] = hashlib.sha256(f.read()).hexdigest()
    monkeypatch.setattr(fm, "_FILES", sums)
    target = isolated / "data"
    _check_matches(load_fashion_mnist(data_dir=target, url=url), arrays)
    assert sorted(p.name for p in (target / "fashion-mnist").iterdir()) == sorted(
        f"{n}.gz" for n in arrays
    )  # and no temporary files left behind
    assert len(requests) == 4
    _check_matches(load_fashion_mnist(data_dir=target, url=url), arrays)
    assert len(requests) == 4  # the second load reads the saved files

    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    _check_matches(load_fashion_mnist(url=url), arrays)  # no data_dir: into the cache
    assert (isolated / "cache" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").is_file()


def test_download_with_wrong_checksum_keeps_nothing(isolated, fake_fashion, server):
    url, _ = server  # the real checksums cannot match the fake files
    target = isolated / "data"
    with pytest.raises(ValueError, match=r"checksum mismatch for http://127\.0\.0\.1.*discarded"):
        load_fashion_mnist(data_dir=target, url=url)
    assert list((target / "fashion-mnist").iterdir()) == []


def test_download_failure_is_a_connection_error(isolated, server):
    url, _ = server
    with pytest.raises(ConnectionError, match="could not download .*missing/train-images"):
        load_fashion_mnist(data_dir=isolated / "data", url=url + "missing/")
    assert list((isolated / "data" / "fashion-mnist").iterdir()) == []


def test_system_data_can_be_hidden(isolated, fake_fashion, monkeypatch):
    """$CHAINRULE_NO_SYSTEM_DATA makes the loader act as on a machine without Debian's package
    (how the suite checks that it passes there)."""
    folder, _ = fake_fashion
    monkeypatch.setattr(fm, "DEBIAN_DIR", folder)
    monkeypatch.setenv("CHAINRULE_NO_SYSTEM_DATA", "1")
    with pytest.raises(FileNotFoundError) as error:
        load_fashion_mnist(download=False)
    assert str(folder) not in str(error.value)
    monkeypatch.setenv("CHAINRULE_NO_SYSTEM_DATA", "0")
    assert load_fashion_mnist(download=False)[0][0].shape == (6, 1, 28, 28)
