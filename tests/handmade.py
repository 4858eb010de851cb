"""Hand-made ground truth and detections for the evaluation tests (importable as
``from handmade import ...``, as tests/tiny.py): rectangle and disk masks, a prepared Dataset of
given masks, detect()-like dicts and a two-image set with every kind of COCO case."""
import numpy as np

from mrcnn.core.boxes import extract_bboxes
from mrcnn.datasets.base import Dataset


def rect_masks(shape, boxes):
    """bool [H, W, N], one filled rectangle (y1, x1, y2, x2), y2/x2 exclusive, per box."""
    masks = np.zeros(tuple(shape) + (len(boxes),), dtype=bool)
    for i, (y1, x1, y2, x2) in enumerate(boxes):
        masks[y1:y2, x1:x2, i] = True
    return masks


def disk(shape, cy, cx, r):
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r ** 2


class Handmade(Dataset):
    """Images given as (mask [H, W, N], class_ids [N]); load_image gives a gray image."""

    def load_image(self, image_id):
        info = self.image_info[image_id]
        return np.full((info["height"], info["width"], 3), 90, np.uint8)

    def load_mask(self, image_id):
        info = self.image_info[image_id]
        return info["mask"].copy(), np.array(info["class_ids"], np.int32)


def make_dataset(images, source="hand", image_source_ids=None, class_source_ids=(1, 2, 3)):
    """A prepared Handmade dataset of classes one, two, three and the given images."""
    dataset = Handmade()
    for class_id, name in zip(class_source_ids, ["one", "two", "three"]):
        dataset.add_class(source, class_id, name)
    for i, (mask, class_ids) in enumerate(images):
        source_id = i if image_source_ids is None else image_source_ids[i]
        dataset.add_image(source, source_id, None, mask=mask, class_ids=class_ids,
                          height=mask.shape[0], width=mask.shape[1])
    dataset.prepare()
    return dataset


def detection(masks, class_ids, scores, rois=None):
    """A detect()-like dict; rois from the masks unless given."""
    masks = np.asarray(masks, dtype=bool)
    return {"rois": extract_bboxes(masks) if rois is None else np.asarray(rois, np.int32),
            "class_ids": np.asarray(class_ids, np.int32),
            "scores": np.asarray(scores, np.float32), "masks": masks}


def no_detection(shape):
    return detection(np.zeros(tuple(shape) + (0,), bool), [], [])


def perfect_detections(dataset):
    """The non-crowd ground truth of every image as detections with score 1."""
    result = {}
    for image_id in dataset.image_ids:
        mask, class_ids = dataset.load_mask(image_id)
        regular = class_ids > 0
        result[image_id] = detection(mask[..., regular], class_ids[regular],
                                     np.ones(regular.sum()))
    return result


def complex_set():
    """Two images (one not square) with disks and rectangles of all COCO sizes, a crowd, and
    detections with misses, duplicates, shifts, a false positive and one inside the crowd."""
    h0, w0 = 128, 128
    gt0 = np.stack([disk((h0, w0), 40, 40, 20),                       # medium, class 1
                    rect_masks((h0, w0), [(20, 10, 120, 120)])[..., 0],  # large, class 2
                    rect_masks((h0, w0), [(2, 100, 10, 108)])[..., 0],   # small, class 3
                    rect_masks((h0, w0), [(90, 0, 128, 40)])[..., 0]],   # crowd of class 1
                   axis=-1)
    h1, w1 = 96, 128
    tri = np.tril(np.ones((60, 60), bool))
    gt1 = np.zeros((h1, w1, 3), bool)
    gt1[10:70, 20:80, 0] = tri                                         # medium triangle, 2
    gt1[70:90, 90:120, 1] = True                                       # small rect, class 1
    gt1[5:25, 100:125, 2] = True                                       # small rect, class 3
    dataset = make_dataset([(gt0, [1, 2, 3, -1]), (gt1, [2, 1, 3])])

    # The first disk's mask is small (901 px < 32²) but its box medium (35² px), so the
    # size ranges of bbox and segm differ.
    d0 = np.stack([disk((h0, w0), 42, 41, 17),                         # shrunk disk
                   disk((h0, w0), 40, 40, 20),                         # exact disk, low score
                   rect_masks((h0, w0), [(25, 15, 118, 115)])[..., 0],  # inside the large one
                   rect_masks((h0, w0), [(95, 5, 125, 35)])[..., 0],    # in the crowd
                   rect_masks((h0, w0), [(60, 60, 80, 80)])[..., 0]],   # false positive
                  axis=-1)
    d1 = np.zeros((h1, w1, 3), bool)
    d1[15:70, 20:75, 0] = True                                         # box over the triangle
    d1[72:90, 92:118, 1] = True                                        # shrunk rect
    d1[0:10, 0:10, 2] = True                                           # false positive
    detections = {0: detection(d0, [1, 1, 2, 1, 3], [0.9, 0.4, 0.8, 0.95, 0.3]),
                  1: detection(d1, [2, 1, 3], [0.7, 0.85, 0.6])}
    return dataset, detections
