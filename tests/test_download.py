"""Tests for mrcnn/download.py. Offline: file:// URLs and a local HTTP server on 127.0.0.1."""
import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading

import pytest

from mrcnn import download
from mrcnn.download import DownloadError, download_file

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAYLOAD = bytes(range(256)) * 1000            # 256,000 bytes: several 64 KiB chunks


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """urllib reads proxies from the environment; the local server must be reached directly."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def source(tmp_path):
    """A file:// URL of PAYLOAD."""
    path = tmp_path / "source" / "weights.h5"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path.as_uri()


class _Handler(http.server.BaseHTTPRequestHandler):
    """/ok: PAYLOAD; /truncated: announces 1000 bytes, sends 100 and closes; else 404."""

    def do_GET(self):
        if self.path == "/ok":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)
        elif self.path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 100)
            self.close_connection = True
        else:
            self.send_error(404, "Not Found")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """Base URL of an HTTP server on 127.0.0.1 (a free port), stopped after the test."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:{}".format(httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def closed_port_url():
    """An http URL on 127.0.0.1 where nothing listens (a port just bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return "http://127.0.0.1:{}/mask_rcnn_coco.h5".format(port)


def leftovers(folder):
    """Temporary download files left in folder."""
    return [name for name in os.listdir(folder) if name.endswith(".part")]


# --------------------------------------------------------------------------- download_file
def test_download_file_url(tmp_path, source, capsys):
    dest = tmp_path / "models" / "sub" / "weights.h5"          # folders created
    assert download_file(source, str(dest)) == str(dest)
    assert dest.read_bytes() == PAYLOAD
    assert leftovers(dest.parent) == []
    out = capsys.readouterr().out
    assert "weights.h5: 0.3 / 0.3 MB (100%)\n" in out            # 256,000 bytes = 0.256 MB


def test_download_quiet_and_replaces_existing_file(tmp_path, source, capsys):
    dest = tmp_path / "weights.h5"
    dest.write_bytes(b"old")
    download_file(source, dest, verbose=0)                         # a pathlib.Path works too
    assert dest.read_bytes() == PAYLOAD
    assert capsys.readouterr().out == ""


def test_download_http(tmp_path, server):
    dest = tmp_path / "w.h5"
    download_file(server + "/ok", str(dest), verbose=0)
    assert dest.read_bytes() == PAYLOAD


def test_md5_checked(tmp_path, source):
    dest = tmp_path / "w.h5"
    download_file(source, str(dest), verbose=0, md5_hash=hashlib.md5(PAYLOAD).hexdigest())
    assert dest.read_bytes() == PAYLOAD
    bad = tmp_path / "bad.h5"
    with pytest.raises(DownloadError, match="MD5 is {}, expected 0123".format(
            hashlib.md5(PAYLOAD).hexdigest())):
        download_file(source, str(bad), verbose=0, md5_hash="0123")
    assert not bad.exists() and leftovers(tmp_path) == []


def test_truncated_transfer_leaves_no_partial_file(tmp_path, server):
    dest = tmp_path / "w.h5"
    dest.write_bytes(b"previous complete file")
    url = server + "/truncated"
    with pytest.raises(DownloadError) as info:
        download_file(url, str(dest), verbose=0)
    assert url in str(info.value) and "100 of 1000 bytes" in str(info.value)
    assert dest.read_bytes() == b"previous complete file"          # untouched
    assert leftovers(tmp_path) == []


def test_http_error_names_url_and_status(tmp_path, server):
    url = server + "/nothing.h5"
    with pytest.raises(DownloadError, match="HTTP error 404") as info:
        download_file(url, str(tmp_path / "w.h5"), verbose=0)
    assert url in str(info.value)
    assert os.listdir(tmp_path) == []


def test_unreachable_url_gives_clear_error(tmp_path):
    url = closed_port_url()
    dest = tmp_path / "mask_rcnn_coco.h5"
    with pytest.raises(DownloadError) as info:
        download_file(url, str(dest), verbose=0, timeout=5)
    message = str(info.value)
    assert url in message
    assert "download the file by hand" in message and str(dest) in message
    assert isinstance(info.value, OSError)
    assert os.listdir(tmp_path) == []


def test_missing_file_url(tmp_path):
    url = (tmp_path / "absent.h5").as_uri()
    with pytest.raises(DownloadError, match="Could not download " + url):
        download_file(url, str(tmp_path / "w.h5"), verbose=0)
    assert os.listdir(tmp_path) == []


def test_unsupported_url(tmp_path):
    with pytest.raises(DownloadError, match="Could not download not-a-url"):
        download_file("not-a-url", str(tmp_path / "w.h5"), verbose=0)
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- named weights
def test_urls_are_the_published_ones():
    assert download.COCO_MODEL_URL == \
        "https://github.com/matterport/Mask_RCNN/releases/download/v2.0/mask_rcnn_coco.h5"
    assert download.RESNET50_IMAGENET_URL == (
        "https://github.com/fchollet/deep-learning-models/releases/download/v0.2/"
        "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")


def test_download_trained_weights(tmp_path, source, monkeypatch, capsys):
    monkeypatch.setattr(download, "COCO_MODEL_URL", source)
    path = str(tmp_path / "mask_rcnn_coco.h5")
    download.download_trained_weights(path)
    assert open(path, "rb").read() == PAYLOAD
    out = capsys.readouterr().out
    assert out.startswith("Downloading pretrained model to " + path + " ...\n")
    assert out.endswith("... done downloading pretrained model!\n")


def test_download_trained_weights_offline(tmp_path, monkeypatch):
    url = closed_port_url()
    monkeypatch.setattr(download, "COCO_MODEL_URL", url)
    with pytest.raises(DownloadError, match="Could not download " + url):
        download.download_trained_weights(str(tmp_path / "mask_rcnn_coco.h5"), verbose=0)


def test_imagenet_weights_downloaded_once(tmp_path, source, monkeypatch):
    monkeypatch.setattr(download, "RESNET50_IMAGENET_URL", source)
    monkeypatch.setattr(download, "RESNET50_IMAGENET_MD5", hashlib.md5(PAYLOAD).hexdigest())
    cache = tmp_path / "cache"
    path = download.imagenet_weights_path(str(cache), verbose=0)
    assert path == str(cache / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
    assert open(path, "rb").read() == PAYLOAD
    monkeypatch.setattr(download, "RESNET50_IMAGENET_URL", closed_port_url())
    assert download.imagenet_weights_path(str(cache), verbose=0) == path   # cached: no download


def test_imagenet_weights_default_cache_is_keras_home(tmp_path, source, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(download, "RESNET50_IMAGENET_URL", source)
    monkeypatch.setattr(download, "RESNET50_IMAGENET_MD5", hashlib.md5(PAYLOAD).hexdigest())
    path = download.imagenet_weights_path(verbose=0)
    assert path == str(tmp_path / "keras" / "models" / download.RESNET50_IMAGENET_FILENAME)


def test_imagenet_weights_checksum_mismatch(tmp_path, source, monkeypatch):
    monkeypatch.setattr(download, "RESNET50_IMAGENET_URL", source)     # real MD5 kept
    with pytest.raises(DownloadError, match="MD5"):
        download.imagenet_weights_path(str(tmp_path), verbose=0)
    assert os.listdir(tmp_path) == ["source"]                          # nothing cached


def test_download_module_does_not_import_tensorflow():
    code = ("import sys, mrcnn.download; "
            "assert not any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


@pytest.mark.parametrize("backbone, name", [("resnet18", "resnet18"), ("resnet34", "resnet34"),
                                            (lambda image, stage5, train_bn: None, "a callable")])
def test_imagenet_weights_refused_for_a_backbone_without_them(backbone, name, monkeypatch):
    """A clear ConfigError naming the backbone and the ones that have ImageNet weights, before
    any download."""
    from mrcnn.config import ConfigError
    from mrcnn.maskrcnn import MaskRCNN
    from tiny import tiny_config
    monkeypatch.setattr(download, "imagenet_weights_path",
                        lambda *args, **kwargs: pytest.fail("downloaded"))
    model = MaskRCNN.__new__(MaskRCNN)
    model.config = tiny_config()
    model.config.BACKBONE = backbone
    with pytest.raises(ConfigError) as error:
        model.get_imagenet_weights()
    message = str(error.value)
    assert f"no ImageNet weights for BACKBONE {name} " in message
    assert "resnet50 and resnet101" in message and "--weights none" in message


def test_imagenet_weights_for_resnet50_and_resnet101(monkeypatch):
    from mrcnn.maskrcnn import MaskRCNN
    from tiny import tiny_config
    monkeypatch.setattr(download, "imagenet_weights_path", lambda: "resnet50_notop.h5")
    for backbone in ("resnet50", "resnet101"):
        model = MaskRCNN.__new__(MaskRCNN)
        model.config = tiny_config(BACKBONE=backbone)
        assert model.get_imagenet_weights() == "resnet50_notop.h5"
