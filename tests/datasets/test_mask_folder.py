"""Tests for mrcnn/datasets/mask_folder.py on folders the tests write: the per-image-folder
(nucleus / DSB 2018) layout, label images in a masks/ folder and beside their images
(_masks suffix), 16-bit and palette label images, 0/1 and 0/255 masks, empty masks, classes from
sub-folders, a class map file or one default class, subsets and the errors that name the file.
Masks are drawn here with plain NumPy index arithmetic and compared pixel for pixel."""
import json
import logging

import numpy as np
import PIL.Image
import pytest
import tifffile

from mrcnn.datasets import DatasetError, MaskFolderDataset

H, W = 40, 56


def rect(y1, x1, y2, x2, shape=(H, W)):
    """bool mask of rows y1..y2-1, columns x1..x2-1."""
    mask = np.zeros(shape, bool)
    mask[y1:y2, x1:x2] = True
    return mask


def disc(cy, cx, r, shape=(H, W)):
    """bool mask of the pixels whose centre is within r of (cy, cx)."""
    rows, cols = np.ogrid[:shape[0], :shape[1]]
    return (rows - cy) ** 2 + (cols - cx) ** 2 <= r * r


def save_image(path, seed, shape=(H, W)):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, shape + (3,), dtype=np.uint8)
    PIL.Image.fromarray(pixels).save(path)
    return pixels


def save_mask(path, mask, high=255):
    """A grayscale PNG of a bool mask with values 0 / high."""
    path.parent.mkdir(parents=True, exist_ok=True)
    PIL.Image.fromarray((mask * high).astype(np.uint8)).save(path)


def label_image(masks, values):
    """uint16 [H, W] with masks[k] painted with values[k] (later ones on top)."""
    label = np.zeros(masks[0].shape, np.uint16)
    for mask, value in zip(masks, values):
        label[mask] = value
    return label


def assert_masks(loaded, class_ids, expected):
    """loaded bool [H, W, N] and class_ids [N] equal expected [(mask, class_id), ...] in order."""
    assert loaded.dtype == bool and loaded.shape == (H, W, len(expected))
    assert class_ids.dtype == np.int32
    assert class_ids.tolist() == [c for _, c in expected]
    for k, (mask, _) in enumerate(expected):
        np.testing.assert_array_equal(loaded[..., k], mask, err_msg="instance {}".format(k))


# ------------------------------------------------------------------ per-image folders (nucleus)
def write_nucleus(root):
    """Three per-image folders: a (two 0/255 masks and an empty one), b (0/1 masks), c (no
    masks/ folder: a test image). Returns {id: [masks in file-name order]}."""
    a = [disc(10, 12, 6), rect(20, 30, 34, 50)]
    b = [rect(2, 3, 9, 20), disc(28, 40, 8), rect(30, 2, 38, 9)]
    for name, masks, high in (("a", a, 255), ("b", b, 1)):
        save_image(root / name / "images" / (name + ".png"), seed=ord(name))
        for k, mask in enumerate(masks):
            save_mask(root / name / "masks" / "{}_{}.png".format(name, k), mask, high)
    save_mask(root / "a" / "masks" / "a_9_empty.png", np.zeros((H, W), bool))
    save_image(root / "c" / "images" / "c.png", seed=3)
    return {"a": a, "b": b, "c": []}


def test_per_image_folders_0_255_and_0_1_masks_empty_mask_and_test_image(tmp_path, caplog):
    drawn = write_nucleus(tmp_path)
    dataset = MaskFolderDataset()
    dataset.load_masks(tmp_path, class_names=["nucleus"])
    dataset.prepare()
    assert dataset.class_names == ["BG", "nucleus"]
    assert [info["id"] for info in dataset.image_info] == ["a", "b", "c"]
    for image_id, name in enumerate(["a", "b", "c"]):
        with caplog.at_level(logging.WARNING):
            mask, class_ids = dataset.load_mask(image_id)
        assert_masks(mask, class_ids, [(m, 1) for m in drawn[name]])
        image = dataset.load_image(image_id)
        expected = np.asarray(PIL.Image.open(tmp_path / name / "images" / (name + ".png")))
        np.testing.assert_array_equal(image, expected)
    # The empty mask is left out, warned about once and recorded.
    assert "a_9_empty.png: mask file skipped: empty mask (no nonzero pixel)" in caplog.text
    summary = dataset.summary(verbose=False)
    assert summary["instances"] == {"nucleus": 5}
    assert summary["images_without_instances"] == [2]
    assert summary["skipped"] == {"empty mask (no nonzero pixel)": [
        (str(tmp_path / "a" / "masks" / "a_9_empty.png"), "mask file")]}
    assert dataset.image_reference(1) == str(tmp_path / "b" / "images" / "b.png")


def test_per_image_folders_default_class_and_subset(tmp_path):
    write_nucleus(tmp_path)
    (tmp_path / "val.txt").write_text("b\n# a comment\nc\n")
    dataset = MaskFolderDataset()
    dataset.load_masks(tmp_path, subset=str(tmp_path / "val.txt"))
    dataset.prepare()
    assert dataset.class_names == ["BG", "object"]
    assert [info["id"] for info in dataset.image_info] == ["b", "c"]
    with pytest.raises(DatasetError) as error:
        MaskFolderDataset().load_masks(tmp_path, subset=["a", "zz"])
    assert "subset ids zz match no image" in str(error.value)


def test_classes_from_sub_folders_and_class_names_subset(tmp_path):
    save_image(tmp_path / "x" / "images" / "x.png", seed=1)
    cell, debris, loose = disc(12, 14, 7), rect(25, 30, 36, 52), rect(1, 40, 6, 54)
    save_mask(tmp_path / "x" / "masks" / "cell" / "m0.png", cell)
    save_mask(tmp_path / "x" / "masks" / "debris" / "m1.png", debris)
    save_mask(tmp_path / "x" / "masks" / "m2.png", loose)
    dataset = MaskFolderDataset()
    dataset.load_masks(tmp_path)
    dataset.prepare()
    # Loose files first (the default class), then the sub-folders in name order.
    assert dataset.class_names == ["BG", "cell", "debris", "object"]
    mask, class_ids = dataset.load_mask(0)
    assert_masks(mask, class_ids, [(loose, 3), (cell, 1), (debris, 2)])

    # class_names picks and orders classes; the others are skipped and recorded.
    dataset = MaskFolderDataset()
    dataset.load_masks(tmp_path, class_names=["debris", "cell"])
    dataset.prepare()
    mask, class_ids = dataset.load_mask(0)
    assert_masks(mask, class_ids, [(cell, 2), (debris, 1)])
    assert dataset.summary(verbose=False)["skipped"] == {"class not in class_names": [
        (str(tmp_path / "x" / "masks" / "m2.png"), "mask file (class 'object')")]}


def test_class_map_file_by_stem_and_relative_path(tmp_path):
    save_image(tmp_path / "x" / "images" / "x.png", seed=1)
    masks = [disc(10, 10, 5), rect(20, 20, 30, 30), disc(30, 45, 6)]
    for k, mask in enumerate(masks):
        save_mask(tmp_path / "x" / "masks" / "m{}.png".format(k), mask)
    class_map = tmp_path / "classes.json"
    class_map.write_text(json.dumps({"m0": "tumour", "x/masks/m2.png": "stroma"}))
    dataset = MaskFolderDataset()
    dataset.load_masks(tmp_path / "x" / "..", class_map=str(class_map))
    dataset.prepare()
    assert dataset.class_names == ["BG", "object", "stroma", "tumour"]
    mask, class_ids = dataset.load_mask(0)
    assert_masks(mask, class_ids, [(masks[0], 3), (masks[1], 1), (masks[2], 2)])

    with pytest.raises(DatasetError) as error:
        MaskFolderDataset().load_masks(tmp_path, class_map={"m0": "tumour", "nope": "x"})
    assert "class_map names nope which match no mask file" in str(error.value)
    bad = tmp_path / "bad.yaml"
    bad.write_text("[a, b]\n")
    with pytest.raises(DatasetError) as error:
        MaskFolderDataset().load_masks(tmp_path, class_map=str(bad))
    assert str(bad) in str(error.value) and "mapping {mask file: class name}" in str(error.value)


# ------------------------------------------------------------------ label images
def test_masks_folder_16_bit_label_images_class_sub_folders_and_background(tmp_path):
    """images/ + masks/: a 16-bit PNG label image (values above 255), a 16-bit TIFF of another
    class, a palette PNG; an image without any label image is background."""
    one = [disc(10, 10, 6), rect(20, 25, 35, 45), disc(8, 45, 5)]
    values = [300, 65000, 7]                       # distinct, not in value order
    sixteen_bit = PIL.Image.fromarray(label_image(one, values))
    (tmp_path / "masks").mkdir()
    for name in ("p1", "p2", "p3"):
        save_image(tmp_path / "images" / (name + ".png"), seed=len(name) + ord(name[-1]))
    sixteen_bit.save(tmp_path / "masks" / "p1.png")
    assert PIL.Image.open(tmp_path / "masks" / "p1.png").mode.startswith("I")   # 16 bit
    debris = [rect(2, 2, 12, 12), rect(28, 2, 38, 20)]
    (tmp_path / "masks" / "debris").mkdir()
    tifffile.imwrite(tmp_path / "masks" / "debris" / "p1.tif", label_image(debris, [2, 1]))
    two = [rect(5, 5, 15, 50), disc(28, 28, 9)]
    palette_png = PIL.Image.fromarray(label_image(two, [1, 2]).astype(np.uint8), mode="P")
    palette_png.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9))
    palette_png.save(tmp_path / "masks" / "p2.png")

    dataset = MaskFolderDataset()
    dataset.load_masks(tmp_path, class_names=["cell", "debris"])
    dataset.prepare()
    assert [info["id"] for info in dataset.image_info] == ["p1", "p2", "p3"]
    # The loose label images are of the default class, which class_names leaves out: only the
    # debris instances remain, in value order (1, 2).
    mask, class_ids = dataset.load_mask(0)
    assert_masks(mask, class_ids, [(debris[1], 2), (debris[0], 2)])
    summary = dataset.summary(verbose=False)
    assert summary["skipped"]["class not in class_names"] == [
        (str(tmp_path / "masks" / "p1.png"), "mask file (class 'object')"),
        (str(tmp_path / "masks" / "p2.png"), "mask file (class 'object')")]

    dataset = MaskFolderDataset()
    dataset.load_masks(tmp_path)
    dataset.prepare()
    assert dataset.class_names == ["BG", "debris", "object"]
    mask, class_ids = dataset.load_mask(0)                 # values 7, 300, 65000, then 1, 2
    assert_masks(mask, class_ids, [(one[2], 2), (one[0], 2), (one[1], 2),
                                   (debris[1], 1), (debris[0], 1)])
    mask, class_ids = dataset.load_mask(1)
    assert_masks(mask, class_ids, [(two[0], 2), (two[1], 2)])
    mask, class_ids = dataset.load_mask(2)
    assert_masks(mask, class_ids, [])
    assert dataset.summary(verbose=False)["images_without_instances"] == [2]


def test_suffix_pairs_tiff_and_png_0_1_label_images(tmp_path):
    """cellpose's <name>.png + <name>_masks.tif (uint16) and <name>_mask.png (a 0/1 mask)."""
    cells = [disc(12, 14, 8), disc(26, 40, 9), rect(30, 2, 39, 12)]
    save_image(tmp_path / "img0.png", seed=0)
    tifffile.imwrite(tmp_path / "img0_masks.tif", label_image(cells, [1, 2, 513]))
    save_image(tmp_path / "img1.png", seed=1)
    save_mask(tmp_path / "img1_mask.png", rect(3, 4, 20, 30), high=1)
    save_image(tmp_path / "img2.png", seed=2)                 # no label image: background
    dataset = MaskFolderDataset()
    dataset.load_masks(tmp_path, class_names=["cell"])
    dataset.prepare()
    assert [info["id"] for info in dataset.image_info] == ["img0", "img1", "img2"]
    assert_masks(*dataset.load_mask(0), [(cells[0], 1), (cells[1], 1), (cells[2], 1)])
    assert_masks(*dataset.load_mask(1), [(rect(3, 4, 20, 30), 1)])
    assert_masks(*dataset.load_mask(2), [])
    assert dataset.summary(verbose=False)["instances"] == {"cell": 4}


def test_colour_label_images_with_alpha(tmp_path):
    """An RGBA label image whose instances are colours (as some tools export them): each
    distinct colour is one instance, in the order of r * 65536 + g * 256 + b; alpha is not a
    colour."""
    cells = [disc(12, 14, 8), rect(25, 30, 38, 50), disc(30, 10, 6)]
    colours = [(0, 200, 0), (10, 0, 0), (0, 0, 90)]       # packed: 51200, 655360, 90
    label = np.zeros((H, W, 4), np.uint8)
    label[..., 3] = 255
    for mask, colour in zip(cells, colours):
        label[mask, :3] = colour
    save_image(tmp_path / "img.png", seed=0)
    PIL.Image.fromarray(label).save(tmp_path / "img_masks.png")
    dataset = MaskFolderDataset()
    dataset.load_masks(tmp_path)
    dataset.prepare()
    assert_masks(*dataset.load_mask(0), [(cells[2], 1), (cells[0], 1), (cells[1], 1)])


# ------------------------------------------------------------------ errors
def test_a_mask_of_another_size_is_an_error_naming_it(tmp_path):
    save_image(tmp_path / "a" / "images" / "a.png", seed=0)
    save_mask(tmp_path / "a" / "masks" / "good.png", rect(1, 1, 5, 5))
    save_mask(tmp_path / "a" / "masks" / "small.png", rect(1, 1, 5, 5, shape=(H - 1, W)))
    with pytest.raises(DatasetError) as error:
        MaskFolderDataset().load_masks(tmp_path)
    message = str(error.value)
    assert "1 mask file(s) unreadable or not the size of their image" in message
    assert "{} is {}x{} but its image".format(tmp_path / "a" / "masks" / "small.png", H - 1, W) \
        in message


def test_a_mask_that_does_not_decode_is_an_error_naming_it(tmp_path):
    save_image(tmp_path / "a" / "images" / "a.png", seed=0)
    (tmp_path / "a" / "masks").mkdir()
    (tmp_path / "a" / "masks" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError) as error:
        MaskFolderDataset().load_masks(tmp_path)
    assert "{}: unreadable".format(tmp_path / "a" / "masks" / "broken.png") in str(error.value)


def test_a_label_image_changed_after_loading_is_an_error_naming_it(tmp_path):
    save_image(tmp_path / "x.png", seed=0)
    save_mask(tmp_path / "x_masks.png", rect(1, 1, 9, 9))
    dataset = MaskFolderDataset()
    dataset.load_masks(tmp_path)
    dataset.prepare()
    save_mask(tmp_path / "x_masks.png", rect(1, 1, 9, 9, shape=(H, W + 2)))
    with pytest.raises(DatasetError) as error:
        dataset.load_mask(0)
    assert "label image {} is {}x{} but its image {} is {}x{}".format(
        tmp_path / "x_masks.png", H, W + 2, tmp_path / "x.png", H, W) in str(error.value)
    # Fractional values (a float TIFF of probabilities, not ids) are refused, naming the file.
    tifffile.imwrite(tmp_path / "x_masks.png", np.full((H, W), 0.5, np.float32))
    with pytest.raises(DatasetError) as error:
        dataset.load_mask(0)
    assert "cannot read label image {} of image x: holds fractional values".format(
        tmp_path / "x_masks.png") in str(error.value)


def test_folders_in_no_layout_and_orphan_label_images_are_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError) as error:
        MaskFolderDataset().load_masks(tmp_path / "empty")
    assert "is in none of the mask layouts" in str(error.value)
    with pytest.raises(DatasetError) as error:
        MaskFolderDataset().load_masks(tmp_path / "missing")
    assert "is not a folder" in str(error.value)
    (tmp_path / "pairs" / "masks").mkdir(parents=True)
    save_image(tmp_path / "pairs" / "a.png", seed=0)
    save_mask(tmp_path / "pairs" / "masks" / "b.png", rect(1, 1, 4, 4))
    with pytest.raises(DatasetError) as error:
        MaskFolderDataset().load_masks(tmp_path / "pairs")
    assert "label image {} has no image named 'b'".format(
        tmp_path / "pairs" / "masks" / "b.png") in str(error.value)


def test_per_image_folder_with_two_images_is_an_error(tmp_path):
    save_image(tmp_path / "a" / "images" / "a.png", seed=0)
    save_image(tmp_path / "a" / "images" / "a2.png", seed=1)
    with pytest.raises(DatasetError) as error:
        MaskFolderDataset().load_masks(tmp_path)
    assert "{} holds 2 images".format(tmp_path / "a" / "images") in str(error.value)
