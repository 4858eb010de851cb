"""Split a folder (or a list of items) into train and val, reproducibly.

    train, val = train_val_split("signs/", val_fraction=0.2, seed=0, write_to="signs/")
    train_set.load_labelme("signs/", subset="signs/train.txt")
    val_set.load_labelme("signs/", subset="signs/val.txt")

How items are assigned: each item gets the key sha256("<seed>:<name>") and the
round(n * val_fraction) items with the smallest keys (at least 1 and at most n - 1 when n >= 2)
form val. So the split depends on the seed and the names only, not on the order the items come
in; adding items to the folder moves few old ones; and both lists keep the input's sorted order.
(The road-sign guide's train_val_txt_split shuffled with the global random state, so each run
split differently.)

Glossary:
  item   a str: for a folder, the stem of each annotation file in it, found as
         LabelmeDataset.load_labelme finds them (.json files, and .txt files named like an image
         beside them), or, in a folder without any, the stem of each image file; for a list,
         each element as given (paths are compared as str).
"""
import hashlib
import os

from mrcnn.datasets.image_io import is_image_file
from mrcnn.datasets.labelme import NOT_SHAPE_LISTS

__all__ = ["train_val_split"]


def train_val_split(folder_or_items, val_fraction=0.2, seed=0, write_to=None):
    """Split items into (train, val) lists.

    folder_or_items: a folder (its items are the stems of its annotation files, else of its
        images) or a list of str / paths.
    val_fraction: share of the items that go to val, 0 < val_fraction < 1; val gets
        round(n * val_fraction) items, at least 1 when there are 2 or more items, and train at
        least 1.
    seed: any int or str; the same seed and names give the same split.
    write_to: a folder to write train.txt and val.txt into (one item per line), as
        LabelmeDataset.load_labelme(subset=...) reads them.
    Returns (train, val), each sorted.
    """
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) \
            or not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be a number between 0 and 1 (exclusive), got {!r}"
                         .format(val_fraction))
    if isinstance(folder_or_items, (str, os.PathLike)):
        folder = os.fspath(folder_or_items)
        if not os.path.isdir(folder):
            raise ValueError("folder_or_items: {} is not a folder".format(folder))
        items = _folder_items(folder)
    else:
        items = sorted(str(os.fspath(item)) if isinstance(item, os.PathLike) else str(item)
                       for item in folder_or_items)
        if len(set(items)) != len(items):
            raise ValueError("folder_or_items lists {} more than once".format(
                sorted({i for i in items if items.count(i) > 1})))
    n = len(items)
    n_val = 0
    if n >= 2:
        n_val = min(max(int(n * val_fraction + 0.5), 1), n - 1)
    keys = {item: hashlib.sha256("{}:{}".format(seed, item).encode("utf-8")).hexdigest()
            for item in items}
    in_val = set(sorted(items, key=lambda item: (keys[item], item))[:n_val])
    train = [item for item in items if item not in in_val]
    val = [item for item in items if item in in_val]
    if write_to is not None:
        write_to = os.fspath(write_to)
        os.makedirs(write_to, exist_ok=True)
        for name, subset in (("train.txt", train), ("val.txt", val)):
            with open(os.path.join(write_to, name), "w", encoding="utf-8") as f:
                f.write("".join(item + "\n" for item in subset))
    return train, val


def _folder_items(folder):
    """Sorted stems of a folder's annotation files, or of its images where it has none."""
    names = os.listdir(folder)
    image_stems = {os.path.splitext(n)[0] for n in names if is_image_file(n)}
    annotated = {os.path.splitext(n)[0] for n in names
                 if n.lower().endswith(".json")
                 or (n.lower().endswith(".txt") and n.lower() not in NOT_SHAPE_LISTS
                     and os.path.splitext(n)[0] in image_stems)}
    return sorted(annotated or image_stems)
