"""Tests for mrcnn/datasets/voc.py on VOC folders the tests write: palette PNGs with the 255
void border (which belongs to no instance), splits from ImageSets, VOC's 20 names or
class_names.txt (labelme2voc), label PNGs saved as RGB colours or grayscale, and the errors
that name the file. Masks are drawn here with NumPy and compared pixel for pixel."""
import numpy as np
import PIL.Image
import pytest

from mrcnn.datasets import DatasetError, VocInstanceDataset
from mrcnn.datasets.voc import voc_palette

H, W = 44, 60
#: VOC's colours of the indices used here (from the VOC devkit's colour map, written by hand).
COLOURS = {0: (0, 0, 0), 1: (128, 0, 0), 2: (0, 128, 0), 3: (128, 128, 0), 8: (64, 0, 0),
           12: (64, 0, 128), 15: (192, 128, 128), 255: (224, 224, 192)}


def rect(y1, x1, y2, x2):
    mask = np.zeros((H, W), bool)
    mask[y1:y2, x1:x2] = True
    return mask


def disc(cy, cx, r):
    rows, cols = np.ogrid[:H, :W]
    return (rows - cy) ** 2 + (cols - cx) ** 2 <= r * r


def ring(mask):
    """The mask's outermost pixels (those with a 4-neighbour outside it): VOC's void border,
    drawn over the object's edge."""
    inner = mask.copy()
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    inner[0], inner[-1], inner[:, 0], inner[:, -1] = False, False, False, False
    return mask & ~inner


def palette_png(path, label):
    """A mode "P" PNG of uint8 indices with VOC's colours for COLOURS."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = PIL.Image.fromarray(label.astype(np.uint8), mode="P")
    palette = np.zeros((256, 3), np.uint8)
    for index, colour in COLOURS.items():
        palette[index] = colour
    image.putpalette(palette.reshape(-1).tolist())
    image.save(path)


def write_image(root, name, instances, seed, rgb_labels=False):
    """JPEGImages/<name>.jpg and its two label PNGs for instances [(mask, class value)], each
    with a void border; returns the masks of the instances in instance-id order."""
    (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (H, W, 3), np.uint8)
    PIL.Image.fromarray(pixels).save(root / "JPEGImages" / (name + ".jpg"))
    objects = np.zeros((H, W), np.uint8)
    classes = np.zeros((H, W), np.uint8)
    for instance_id, (mask, class_value) in enumerate(instances, start=1):
        objects[mask] = instance_id
        classes[mask] = class_value
    for mask, _ in instances:
        objects[ring(mask)] = 255
        classes[ring(mask)] = 255
    for folder, label in (("SegmentationObject", objects), ("SegmentationClass", classes)):
        palette_png(root / folder / (name + ".png"), label)
        if rgb_labels:
            PIL.Image.open(root / folder / (name + ".png")).convert("RGB").save(
                root / folder / (name + ".png"))
    # Void pixels belong to no instance: the expected mask is what the border left.
    return [(objects == k) for k in range(1, len(instances) + 1)]


def assert_masks(loaded, class_ids, expected):
    assert loaded.dtype == bool and loaded.shape == (H, W, len(expected))
    assert class_ids.tolist() == [c for _, c in expected]
    for k, (mask, _) in enumerate(expected):
        np.testing.assert_array_equal(loaded[..., k], mask, err_msg="instance {}".format(k))


@pytest.fixture
def voc(tmp_path):
    """Three images: 2008_000001 (a person and a cat touching, a dog), 2008_000002 (two
    people), 2008_000003 (no instance); ImageSets train = 1, 3; val = 2."""
    root = tmp_path / "VOC2012"
    person, cat = rect(4, 4, 20, 20), rect(4, 20, 20, 36)      # touching: the border splits
    dog = disc(32, 44, 8)
    first = write_image(root, "2008_000001", [(person, 15), (cat, 8), (dog, 12)], seed=1)
    second = write_image(root, "2008_000002", [(disc(12, 12, 7), 15), (rect(25, 30, 40, 58), 15)],
                         seed=2)
    write_image(root, "2008_000003", [], seed=3)
    sets = root / "ImageSets" / "Segmentation"
    sets.mkdir(parents=True)
    (sets / "train.txt").write_text("2008_000001\n2008_000003\n")
    (sets / "val.txt").write_text("2008_000002\n")
    return root, {"first": first, "second": second, "cat": cat, "person": person}


def test_split_void_border_and_voc_names(voc):
    root, drawn = voc
    dataset = VocInstanceDataset()
    dataset.load_voc(root, "train")
    dataset.prepare()
    assert dataset.class_names[1:4] == ["aeroplane", "bicycle", "bird"]
    assert dataset.class_names[15] == "person" and len(dataset.class_names) == 21
    assert [info["id"] for info in dataset.image_info] == ["2008_000001", "2008_000003"]
    first = drawn["first"]
    assert_masks(*dataset.load_mask(0), [(first[0], 15), (first[1], 8), (first[2], 12)])
    # The void border is in no mask: 16 x 16 squares keep their 14 x 14 insides.
    mask, _ = dataset.load_mask(0)
    assert mask[..., 0].sum() == mask[..., 1].sum() == 14 * 14
    assert not mask[:, 19:21, :2].any()                # the columns where person meets cat
    assert_masks(*dataset.load_mask(1), [])
    assert dataset.load_image(0).shape == (H, W, 3)
    summary = dataset.summary(verbose=False)
    assert (summary["instances"]["person"], summary["instances"]["cat"],
            summary["instances"]["dog"]) == (1, 1, 1)
    assert summary["images_without_instances"] == [1]

    val = VocInstanceDataset()
    val.load_voc(root, "val")
    val.prepare()
    assert_masks(*val.load_mask(0), [(m, 15) for m in drawn["second"]])


def test_no_split_loads_every_image_and_class_names_txt(voc):
    """labelme2voc's output: no ImageSets, class_names.txt with _background_ first; class
    values refer to its lines."""
    root, drawn = voc
    names = ["_background_"] + ["c{}".format(i) for i in range(1, 16)]
    (root / "class_names.txt").write_text("\n".join(names))          # no final newline
    dataset = VocInstanceDataset()
    dataset.load_voc(root)
    dataset.prepare()
    assert dataset.class_names == ["BG"] + names[1:]
    assert [info["id"] for info in dataset.image_info] == [
        "2008_000001", "2008_000002", "2008_000003"]
    first = drawn["first"]
    assert_masks(*dataset.load_mask(0), [(first[0], 15), (first[1], 8), (first[2], 12)])


def test_class_values_beyond_the_names_are_an_error_naming_the_file(voc):
    root, _ = voc
    (root / "class_names.txt").write_text("_background_\ncat\ndog\n")
    dataset = VocInstanceDataset()
    dataset.load_voc(root, "train")
    dataset.prepare()
    with pytest.raises(DatasetError) as error:
        dataset.load_mask(0)
    assert "{}: class value 15 under instance 1 but there are only 2 class names".format(
        root / "SegmentationClass" / "2008_000001.png") in str(error.value)


def test_rgb_and_grayscale_label_pngs(tmp_path):
    a, b = rect(2, 2, 14, 30), disc(28, 40, 10)
    rgb = write_image(tmp_path, "rgb", [(a, 3), (b, 1)], seed=0, rgb_labels=True)
    assert PIL.Image.open(tmp_path / "SegmentationObject" / "rgb.png").mode == "RGB"
    gray = write_image(tmp_path, "gray", [(b, 2)], seed=1)
    for folder in ("SegmentationObject", "SegmentationClass"):
        path = tmp_path / folder / "gray.png"
        PIL.Image.fromarray(np.asarray(PIL.Image.open(path))).convert("L").save(path)
    dataset = VocInstanceDataset()
    dataset.load_voc(tmp_path, class_names=["one", "two", "three"])
    dataset.prepare()
    assert [info["id"] for info in dataset.image_info] == ["gray", "rgb"]
    assert_masks(*dataset.load_mask(0), [(gray[0], 2)])
    assert_masks(*dataset.load_mask(1), [(rgb[0], 3), (rgb[1], 1)])
    # A colour that is not in VOC's colour map is an error naming the file and the colour.
    path = tmp_path / "SegmentationObject" / "rgb.png"
    pixels = np.asarray(PIL.Image.open(path)).copy()
    pixels[0, 0] = (1, 2, 3)
    PIL.Image.fromarray(pixels).save(path)
    with pytest.raises(DatasetError) as error:
        dataset.load_mask(1)
    assert "cannot read label image {} of image rgb: holds the colour(s) (1, 2, 3) that are " \
           "not in the palette".format(path) in str(error.value)


def test_instance_without_a_class_is_skipped_and_recorded(tmp_path):
    """Instance 2 is background in SegmentationClass, instance 3 void: neither has a class."""
    kept = write_image(tmp_path, "x", [(rect(2, 2, 12, 12), 2), (rect(20, 20, 30, 30), 0),
                                       (rect(32, 40, 40, 56), 255)], seed=0)
    dataset = VocInstanceDataset()
    dataset.load_voc(tmp_path, class_names=["a", "b"])
    dataset.prepare()
    assert_masks(*dataset.load_mask(0), [(kept[0], 2)])
    path = str(tmp_path / "SegmentationObject" / "x.png")
    assert dataset.summary(verbose=False)["skipped"] == {
        "instance without a class in SegmentationClass (background or void under all its "
        "pixels)": [(path, "instance 2"), (path, "instance 3")]}


def test_voc_palette_matches_the_devkit_colours():
    palette = voc_palette()
    for index, colour in COLOURS.items():
        assert tuple(palette[index]) == colour, index


def test_missing_split_missing_files_and_sizes_are_errors_naming_them(voc, tmp_path):
    root, _ = voc
    with pytest.raises(DatasetError) as error:
        VocInstanceDataset().load_voc(root, "test")
    assert "no split list {} (the lists there: train, val)".format(
        root / "ImageSets" / "Segmentation" / "test.txt") in str(error.value)
    (root / "SegmentationClass" / "2008_000002.png").unlink()
    PIL.Image.fromarray(np.zeros((H + 1, W), np.uint8)).save(
        root / "SegmentationObject" / "2008_000003.png")
    with pytest.raises(DatasetError) as error:
        VocInstanceDataset().load_voc(root)
    message = str(error.value)
    assert "1 file not found in {}: 2008_000002.png; 1 image(s) with unreadable or " \
        "mismatched files: 2008_000003: image".format(root / "SegmentationClass") in message
    assert "{} is {}x{}".format(root / "SegmentationObject" / "2008_000003.png", H + 1, W) \
        in message
    with pytest.raises(DatasetError) as error:
        VocInstanceDataset().load_voc(tmp_path / "nothing")
    assert "has no SegmentationObject/ folder" in str(error.value)
