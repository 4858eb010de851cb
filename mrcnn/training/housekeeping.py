"""Checkpoint housekeeping: keep a run's last few checkpoints and its best one, delete the rest.

After each epoch the chief records the validation scores of the checkpoint it wrote in
``checkpoints.json`` beside it ({file name: {"val_loss": ..., "val_mAP50": ...}}), so the best
checkpoint is still known after a resume or a later ``train()`` call into the same folder. Then
of the checkpoints up to the one just written it keeps the ``keep`` newest and the best, and
deletes the others it holds scores for:

- best: the highest ``val_mAP50`` when any recorded checkpoint has one (a
  :class:`~mrcnn.evaluation.callback.MeanAPCallback` ran), else the lowest ``val_loss``; ties go
  to the earlier epoch. Without validation scores there is no best, only the newest are kept.
- never deleted: the checkpoint just written, checkpoints of later epochs (another run's, which
  ``find_last`` may return), and files not in the record (Matterport's, or written by a run
  without housekeeping): what cannot be judged stays.

It also removes temporary files that a killed run's atomic writes left
(``.<checkpoint name>.<random>.tmp``, see :func:`mrcnn.files.atomic_path`), only those named
after this run's checkpoints and idle for ``STALE_SECONDS``: a write in progress keeps its file's
modification time fresh.
"""
import json
import math
import os
import re
import time
import warnings

from mrcnn.files import atomic_path

__all__ = ["RECORD_NAME", "STALE_SECONDS", "MONITORS", "tidy_checkpoints",
           "checkpoints_to_delete", "best_checkpoint", "remove_stray_temporaries"]

#: File beside the checkpoints holding their validation scores.
RECORD_NAME = "checkpoints.json"
#: A matching temporary file not modified for this many seconds is a dead write's leftover.
STALE_SECONDS = 300
#: Epoch-log keys that pick the best checkpoint, in order of preference, with max or min.
MONITORS = (("val_mAP50", max), ("val_loss", min))


def _name_regex(checkpoint_path):
    """Regex text matching the file names ``checkpoint_path.format(epoch=n)`` gives (n in
    group 1)."""
    name = os.path.basename(os.fspath(checkpoint_path))
    prefix, brace, rest = name.partition("{epoch")
    if not brace or "}" not in rest:
        raise ValueError(f"checkpoint path {checkpoint_path!r} has no {{epoch}} field")
    suffix = rest.split("}", 1)[1]
    return re.escape(prefix) + r"(\d+)" + re.escape(suffix)


def _scores(logs):
    """The finite monitored values of an epoch's logs, as plain floats."""
    scores = {}
    for key, _ in MONITORS:
        try:
            value = float((logs or {})[key])
        except (KeyError, TypeError, ValueError):
            continue
        if math.isfinite(value):
            scores[key] = value
    return scores


def read_record(folder):
    """{checkpoint file name: {monitor: value}} from ``folder``'s record; {} when there is none.

    An unreadable record is warned about and read as empty (then nothing is judged, so nothing
    is deleted).
    """
    path = os.path.join(folder, RECORD_NAME)
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)["checkpoints"]
        if not isinstance(record, dict):
            raise ValueError("'checkpoints' is not a mapping")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as e:
        warnings.warn(f"Checkpoint record {path} cannot be read ({e}); checkpoints written "
                      f"before are kept.", stacklevel=2)
        return {}
    return {str(name): dict(scores) for name, scores in record.items()
            if isinstance(scores, dict)}


def write_record(folder, record):
    """Write the record atomically (sorted by file name)."""
    with atomic_path(os.path.join(folder, RECORD_NAME)) as tmp_path:
        with open(tmp_path, "w", encoding="utf-8") as f:
            json.dump({"checkpoints": dict(sorted(record.items()))}, f, indent=1)
            f.write("\n")


def best_checkpoint(epochs, record):
    """Name of the best checkpoint among ``epochs`` ({name: epoch}) by the ``record``'s scores,
    or None when none has a score (see :data:`MONITORS`)."""
    for key, pick in MONITORS:
        scored = [(record[name][key], epoch, name) for name, epoch in epochs.items()
                  if key in record.get(name, {})]
        if scored:
            value = pick(score for score, _, _ in scored)
            return min((epoch, name) for score, epoch, name in scored if score == value)[1]
    return None


def checkpoints_to_delete(epochs, newest, keep, record):
    """Names to delete, oldest first.

    epochs: {file name: epoch} of the checkpoints in the folder; newest: the name just written;
    keep: how many of the newest to keep (>= 1); record: {name: scores} (see module docstring).
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep!r}")
    last_epoch = epochs[newest]
    judged = {name: epoch for name, epoch in epochs.items() if epoch <= last_epoch}
    kept = set(sorted(judged, key=judged.get)[-keep:]) | {newest}
    best = best_checkpoint({n: e for n, e in judged.items() if n in record}, record)
    if best is not None:
        kept.add(best)
    return sorted((n for n in judged if n in record and n not in kept), key=judged.get)


def remove_stray_temporaries(checkpoint_path, stale_seconds=STALE_SECONDS, now=None):
    """Remove ``.<checkpoint name>.*.tmp`` files of this run idle for ``stale_seconds``.

    Returns the removed paths.
    """
    folder = os.path.dirname(os.path.abspath(checkpoint_path))
    pattern = re.compile(r"\." + _name_regex(checkpoint_path) + r"\..+\.tmp\Z")
    now = time.time() if now is None else now
    removed = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not pattern.match(name):
            continue
        try:
            if now - os.path.getmtime(path) >= stale_seconds and os.path.isfile(path):
                os.remove(path)
                removed.append(path)
        except FileNotFoundError:      # its writer finished or removed it meanwhile
            pass
    return removed


def tidy_checkpoints(checkpoint_path, epoch, logs, keep):
    """Record the scores of the checkpoint of ``epoch`` (1-based, just written) and delete what
    ``keep`` (None or 0: keep all) lets go; remove stale temporaries. Returns removed paths."""
    folder = os.path.dirname(os.path.abspath(checkpoint_path))
    pattern = re.compile(_name_regex(checkpoint_path) + r"\Z")
    newest = os.path.basename(checkpoint_path.format(epoch=epoch))
    epochs = {}
    for name in os.listdir(folder):
        match = pattern.match(name)
        if match and os.path.isfile(os.path.join(folder, name)):
            epochs[name] = int(match.group(1))
    if newest not in epochs:
        raise FileNotFoundError(f"checkpoint {os.path.join(folder, newest)} is not there")
    record = {name: scores for name, scores in read_record(folder).items() if name in epochs}
    record[newest] = _scores(logs)
    removed = []
    for name in checkpoints_to_delete(epochs, newest, keep, record) if keep else ():
        os.remove(os.path.join(folder, name))
        del record[name]
        removed.append(os.path.join(folder, name))
    write_record(folder, record)
    return removed + remove_stray_temporaries(checkpoint_path)
