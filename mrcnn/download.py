"""Downloads of pretrained weights: Matterport's COCO model and the ImageNet ResNet50 backbone.

Files are written to a temporary file beside the destination and renamed into place only when
complete, so an interrupted or failed download never leaves a partial file under the final name.
Failures (offline, HTTP errors, truncated transfers, checksum mismatches) raise ``DownloadError``,
an ``OSError`` whose message names the URL and says where to put the file after fetching it by
hand.

Plain ``urllib``: this module imports neither TensorFlow nor Keras.
"""
import hashlib
import http.client
import os
import sys
import time
import urllib.error
import urllib.request

from mrcnn.files import atomic_path

__all__ = ["COCO_MODEL_URL", "RESNET50_IMAGENET_URL", "RESNET50_IMAGENET_MD5",
           "RESNET50_IMAGENET_FILENAME", "IMAGENET_BACKBONES", "DownloadError",
           "download_file", "download_trained_weights", "imagenet_weights_path"]

#: Matterport's Mask R-CNN weights trained on MS COCO (Keras 2 HDF5, loads by layer name).
COCO_MODEL_URL = "https://github.com/matterport/Mask_RCNN/releases/download/v2.0/mask_rcnn_coco.h5"

#: ImageNet-trained ResNet50 without the classifier top (Keras 2 HDF5), as Matterport used; kept
#: in the cache under this name (Keras' name, so a copy keras.utils.get_file fetched is reused).
RESNET50_IMAGENET_FILENAME = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
RESNET50_IMAGENET_URL = ("https://github.com/fchollet/deep-learning-models/releases/download/v0.2/"
                         + RESNET50_IMAGENET_FILENAME)
#: MD5 of that file (the hash Matterport passed to keras.utils.get_file).
RESNET50_IMAGENET_MD5 = "a268eb855778b3df3c7506639542a6af"
#: Backbones that ImageNet weights exist for: that ResNet50 file, which Matterport also loaded
#: by name into resnet101 (whose extra res4 blocks stay random). resnet18/34 have other layers.
IMAGENET_BACKBONES = ("resnet50", "resnet101")

_CHUNK_SIZE = 1 << 16


class DownloadError(OSError):
    """A download failed; the message names the URL and how to get the file by hand."""


def download_file(url, dest_path, verbose=1, timeout=30, md5_hash=None):
    """Download url to dest_path atomically (temporary file beside it, then rename).

    url: http(s):// or file:// URL.
    dest_path: final file path; its folder is created if needed. An existing file is replaced.
    verbose: 0 silent, 1 prints progress to stdout.
    timeout: seconds to wait for the connection and for each read.
    md5_hash: optional hex MD5 the downloaded bytes must have.

    Returns: dest_path.
    Raises: DownloadError (an OSError) naming the URL when the download fails; nothing is left
        at dest_path nor beside it in that case.
    """
    dest_path = os.fspath(dest_path)
    folder = os.path.dirname(os.path.abspath(dest_path))

    def fail(reason):
        return DownloadError(
            "Could not download {} ({}). If this machine is offline, download the file by hand "
            "from that URL and save it as {}".format(url, reason, os.path.abspath(dest_path)))

    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise fail("cannot create the folder {}: {}".format(folder, e)) from e
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except urllib.error.HTTPError as e:
        raise fail("HTTP error {} {}".format(e.code, e.reason)) from e
    except urllib.error.URLError as e:
        raise fail(str(e.reason)) from e
    except (OSError, ValueError, http.client.HTTPException) as e:
        raise fail("{}: {}".format(type(e).__name__, e)) from e

    with atomic_path(dest_path, suffix=".part") as tmp_path:
        with response, open(tmp_path, "wb") as out:
            total = response.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            digest = hashlib.md5()
            progress = _Progress(url, total) if verbose else None
            received = 0
            while True:
                try:
                    chunk = response.read(_CHUNK_SIZE)
                except (OSError, http.client.HTTPException) as e:
                    raise fail("the transfer broke off after {} bytes: {}: {}".format(
                        received, type(e).__name__, e)) from e
                if not chunk:
                    break
                try:
                    out.write(chunk)
                except OSError as e:
                    raise fail("cannot write {}: {}".format(tmp_path, e)) from e
                digest.update(chunk)
                received += len(chunk)
                if progress:
                    progress.update(received)
            if progress:
                progress.done(received)
        if total is not None and received != total:
            raise fail("received {} of {} bytes".format(received, total))
        if md5_hash is not None and digest.hexdigest() != md5_hash.lower():
            raise fail("MD5 is {}, expected {}".format(digest.hexdigest(), md5_hash))
    return dest_path


def download_trained_weights(coco_model_path, verbose=1):
    """Download COCO trained weights from Releases.

    coco_model_path: local path of COCO trained weights
    """
    if verbose > 0:
        print("Downloading pretrained model to " + os.fspath(coco_model_path) + " ...")
    download_file(COCO_MODEL_URL, coco_model_path, verbose=verbose)
    if verbose > 0:
        print("... done downloading pretrained model!")


def imagenet_weights_path(cache_dir=None, verbose=1):
    """Path of the ImageNet ResNet50 weights, downloaded (and MD5-checked) on first use.

    cache_dir: folder to keep the file in. Default: Keras' cache, $KERAS_HOME/models or
        ~/.keras/models, so a file keras.utils.get_file already fetched is reused.

    verbose: 0 silent, 1 prints download progress.

    Returns: path of RESNET50_IMAGENET_FILENAME in cache_dir (the file exists).
    """
    if cache_dir is None:
        keras_home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
        cache_dir = os.path.join(keras_home, "models")
    path = os.path.join(os.fspath(cache_dir), RESNET50_IMAGENET_FILENAME)
    if not os.path.exists(path):
        download_file(RESNET50_IMAGENET_URL, path, verbose=verbose,
                      md5_hash=RESNET50_IMAGENET_MD5)
    return path


class _Progress:
    """Prints "name: 12.3 / 45.6 MB (27%)" on one stdout line, at most every half second."""

    def __init__(self, url, total):
        self.name = url.rsplit("/", 1)[-1] or url
        self.total = total
        self.last = 0.0

    def update(self, received):
        now = time.monotonic()
        if now - self.last >= 0.5:
            self.last = now
            self._print(received, end="")

    def done(self, received):
        self._print(received, end="\n")

    def _print(self, received, end):
        text = "\r{}: {:.1f}".format(self.name, received / 1e6)
        if self.total:
            text += " / {:.1f} MB ({:.0f}%)".format(self.total / 1e6, 100.0 * received / self.total)
        else:
            text += " MB"
        sys.stdout.write(text + end)
        sys.stdout.flush()
