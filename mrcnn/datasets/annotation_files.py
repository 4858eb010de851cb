"""Annotation files read with clear errors: JSON (or Python-literal) files, the image a labelme
file embeds, and the class names a loader is given.

Glossary:
  annotation file  a labelme / VIA / COCO JSON file (or a per-image .txt holding JSON or a Python
                   literal); a file that cannot be read or parsed is a DatasetError naming it and,
                   for JSON, the line and column where it breaks.
  imageData        labelme's base64 encoded image file embedded in its JSON.
  class names      the names of a dataset's classes 1 .. K, in order; a leading "BG" (Matterport's
                   class 0, background) is dropped.
"""
import ast
import base64
import binascii
import json
import os

from mrcnn.datasets.base import DatasetError

__all__ = ["read_json", "embedded_image", "check_class_names"]


def read_json(path, what="annotation file", literal_fallback=False):
    """The parsed JSON of a file, or DatasetError naming the file and where the JSON breaks.

    literal_fallback: also accept a Python literal (single-quoted strings), as some hand-written
    per-image .txt files hold.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8-sig")
    except OSError as e:
        raise DatasetError("cannot read {} {}: {}".format(what, path, e.strerror or e)) from None
    except UnicodeDecodeError as e:
        raise DatasetError("{} {} is not UTF-8 text: {}".format(what, path, e)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        if literal_fallback:
            try:
                return ast.literal_eval(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                pass
        raise DatasetError("{} {} is not valid JSON: {} at line {} column {} (char {})".format(
            what, path, e.msg, e.lineno, e.colno, e.pos)) from None


def check_class_names(class_names, argument="class_names"):
    """class_names as a list of unique non-empty str, leading "BG" dropped; TypeError/ValueError
    naming the argument otherwise."""
    if isinstance(class_names, str) or not hasattr(class_names, "__iter__"):
        raise TypeError("{} must be a list of str, got {!r}".format(argument, class_names))
    names = list(class_names)
    if names and names[0] == "BG":
        names = names[1:]
    bad = [n for n in names if not isinstance(n, str) or not n]
    if bad:
        raise TypeError("{} must hold non-empty str, got {!r}".format(argument, bad[0]))
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError("{} lists {} more than once".format(argument, duplicates))
    if not names:
        raise ValueError("{} is empty".format(argument))
    return names


def embedded_image(json_path):
    """The encoded image bytes in a labelme JSON file's base64 "imageData"; ValueError if absent
    or not base64."""
    content = read_json(json_path) if json_path else None
    data = content.get("imageData") if isinstance(content, dict) else None
    if not isinstance(data, str) or not data:
        raise ValueError("{} has no imageData".format(json_path))
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        raise ValueError("the imageData of {} is not base64".format(json_path)) from None
