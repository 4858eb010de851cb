"""Tests for mrcnn/datasets/base.py: class/image registry, prepare(), load_image, load_mask."""
import logging

import numpy as np
import pytest
import skimage.io

from mrcnn.datasets import Dataset, DatasetError

# 2 x 3 RGB test pattern.
RGB = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]],
                [[10, 20, 30], [40, 50, 60], [70, 80, 90]]], dtype=np.uint8)


class TinyDataset(Dataset):
    """Images written as PNG files to a folder by the test, one image per layout."""

    def load_tiny(self, folder):
        self.add_class("tiny", 1, "thing")
        images = {
            "rgb": RGB,
            "gray": np.array([[0, 100, 255], [7, 8, 9]], dtype=np.uint8),
            "rgba": np.concatenate([RGB, np.full((2, 3, 1), 128, np.uint8)], axis=2),
            # uint16 -> uint8 is value // 256: 0, 255 -> 0; 256 -> 1; 32768 -> 128; 65535 -> 255
            "gray16": np.array([[0, 255, 256], [32768, 65535, 512]], dtype=np.uint16),
            "rgb16": RGB.astype(np.uint16) * 257,         # 255 * 257 = 65535 -> 255; 10 * 257 -> 10
        }
        for name, pixels in images.items():
            # Pillow writes no 16-bit RGB PNG; that one goes to a TIFF (tifffile)
            path = str(folder / (name + (".tif" if name == "rgb16" else ".png")))
            skimage.io.imsave(path, pixels, check_contrast=False)
            self.add_image("tiny", image_id=name, path=path)
        corrupt = folder / "corrupt.png"
        corrupt.write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
        self.add_image("tiny", image_id="corrupt", path=str(corrupt))
        self.add_image("tiny", image_id="missing", path=str(folder / "missing.png"))
        self.add_image("tiny", image_id="generated", path=None, height=4, width=6)
        self.prepare()

    def id_of(self, name):
        return self.image_from_source_map["tiny." + name]


@pytest.fixture
def tiny(tmp_path):
    dataset = TinyDataset()
    dataset.load_tiny(tmp_path)
    return dataset


# --------------------------------------------------------------------------- load_image
def test_load_image_rgb(tiny):
    image = tiny.load_image(tiny.id_of("rgb"))
    assert image.dtype == np.uint8 and image.shape == (2, 3, 3)
    np.testing.assert_array_equal(image, RGB)


def test_load_image_gray_becomes_rgb(tiny):
    image = tiny.load_image(tiny.id_of("gray"))
    assert image.dtype == np.uint8 and image.shape == (2, 3, 3)
    for channel in range(3):
        np.testing.assert_array_equal(image[..., channel], [[0, 100, 255], [7, 8, 9]])


def test_load_image_rgba_drops_alpha(tiny):
    image = tiny.load_image(tiny.id_of("rgba"))
    assert image.shape == (2, 3, 3)
    np.testing.assert_array_equal(image, RGB)


def test_load_image_16_bit_scaled_to_uint8(tiny):
    gray = tiny.load_image(tiny.id_of("gray16"))
    assert gray.dtype == np.uint8 and gray.shape == (2, 3, 3)
    # value // 256: 0, 255 // 256 = 0, 256 // 256 = 1, 32768 // 256 = 128, 65535 // 256 = 255,
    # 512 // 256 = 2
    np.testing.assert_array_equal(gray[..., 1], [[0, 0, 1], [128, 255, 2]])
    rgb = tiny.load_image(tiny.id_of("rgb16"))
    np.testing.assert_array_equal(rgb, RGB)          # (v * 257) // 256 = v for v <= 255


@pytest.mark.parametrize("name, reason", [("corrupt", "cannot load image"),
                                          ("missing", "cannot load image")])
def test_load_image_bad_file_names_id_and_path(tiny, tmp_path, name, reason):
    image_id = tiny.id_of(name)
    with pytest.raises(DatasetError) as info:
        tiny.load_image(image_id)
    message = str(info.value)
    assert reason in message
    assert "image {} ".format(image_id) in message
    assert str(tmp_path / (name + ".png")) in message
    assert isinstance(info.value, ValueError)


def test_load_image_without_path_says_to_override(tiny):
    with pytest.raises(DatasetError, match="no path; override load_image"):
        tiny.load_image(tiny.id_of("generated"))


@pytest.mark.parametrize("image_id, message", [(99, "image id 99 is out of range: the dataset "
                                                    "has 8 images"),
                                               (-1, "out of range"),
                                               ("rgb", "must be an integer index")])
def test_load_image_bad_id(tiny, image_id, message):
    with pytest.raises(DatasetError, match=message):
        tiny.load_image(image_id)


def test_load_image_accepts_numpy_ids(tiny):
    image = tiny.load_image(tiny.image_ids[tiny.id_of("rgb")])
    np.testing.assert_array_equal(image, RGB)


# --------------------------------------------------------------------------- load_mask
def test_default_load_mask_uses_info_size_and_warns(tiny, caplog):
    with caplog.at_level(logging.WARNING):
        mask, class_ids = tiny.load_mask(tiny.id_of("generated"))
    assert "default load_mask()" in caplog.text
    assert mask.shape == (4, 6, 0) and mask.dtype == bool
    assert class_ids.shape == (0,) and class_ids.dtype == np.int32


def test_default_load_mask_reads_image_size(tiny):
    mask, class_ids = tiny.load_mask(tiny.id_of("rgb"))
    assert mask.shape == (2, 3, 0) and mask.dtype == bool
    assert class_ids.shape == (0,) and class_ids.dtype == np.int32


# --------------------------------------------------------------------------- classes and prepare
@pytest.fixture
def two_sources():
    dataset = Dataset()
    dataset.add_class("coco", 1, "person")
    dataset.add_class("coco", 3, "car,automobile")
    dataset.add_class("via", 1, "balloon")
    dataset.add_class("coco", 1, "person")                 # duplicate: ignored
    dataset.add_image("coco", image_id=42, path="a.jpg", width=640, height=480)
    dataset.add_image("via", image_id="b.jpg", path="b.jpg")
    dataset.add_image("coco", image_id=7, path="c.jpg")
    dataset.prepare()
    return dataset


def test_prepare_builds_maps_by_hand(two_sources):
    ds = two_sources
    assert ds.class_info[0] == {"source": "", "id": 0, "name": "BG"}
    assert ds.num_classes == 4                             # BG + person + car + balloon
    np.testing.assert_array_equal(ds.class_ids, [0, 1, 2, 3])
    assert ds.class_names == ["BG", "person", "car", "balloon"]     # "car,automobile" -> "car"
    assert ds.num_images == 3
    np.testing.assert_array_equal(ds.image_ids, [0, 1, 2])
    assert ds.class_from_source_map == {".0": 0, "coco.1": 1, "coco.3": 2, "via.1": 3}
    assert ds.image_from_source_map == {"coco.42": 0, "via.b.jpg": 1, "coco.7": 2}
    assert ds.sources == ["", "coco", "via"]
    assert ds.source_class_ids == {"": [0], "coco": [0, 1, 2], "via": [0, 3]}
    assert ds.image_info[0] == {"id": 42, "source": "coco", "path": "a.jpg", "width": 640,
                                "height": 480}


def test_class_id_mapping_both_ways(two_sources):
    ds = two_sources
    assert ds.map_source_class_id("coco.3") == 2
    assert ds.map_source_class_id("via.1") == 3
    assert ds.get_source_class_id(2, "coco") == 3
    assert ds.get_source_class_id(3, "via") == 1
    with pytest.raises(DatasetError, match="class id 2 belongs to source 'coco', not 'via'"):
        ds.get_source_class_id(2, "via")
    with pytest.raises(DatasetError, match="unknown source class id 'via.3'"):
        ds.map_source_class_id("via.3")
    with pytest.raises(DatasetError, match="class id 9 is out of range"):
        ds.get_source_class_id(9, "coco")


def test_map_source_class_id_before_prepare():
    dataset = Dataset()
    dataset.add_class("coco", 1, "person")
    with pytest.raises(DatasetError, match="prepare"):
        dataset.map_source_class_id("coco.1")


def test_prepare_again_after_adding(two_sources):
    ds = two_sources
    ds.add_class("via", 2, "kite")
    ds.add_image("via", image_id="d.jpg", path="d.jpg")
    ds.prepare()
    assert ds.num_classes == 5 and ds.class_names[4] == "kite"
    assert ds.source_class_ids["via"] == [0, 3, 4]
    np.testing.assert_array_equal(ds.image_ids, [0, 1, 2, 3])
    assert ds.image_from_source_map["via.d.jpg"] == 3


def test_empty_dataset_prepare():
    dataset = Dataset()
    dataset.prepare()
    assert dataset.num_classes == 1 and dataset.class_names == ["BG"]
    assert dataset.num_images == 0 and len(dataset.image_ids) == 0
    assert dataset.sources == [""] and dataset.source_class_ids == {"": [0]}


def test_duplicate_class_with_other_name_warns(caplog):
    dataset = Dataset()
    dataset.add_class("coco", 1, "person")
    with caplog.at_level(logging.WARNING):
        dataset.add_class("coco", 1, "people")
    assert "already added as 'person'" in caplog.text
    assert len(dataset.class_info) == 2 and dataset.class_info[1]["name"] == "person"


def test_background_can_be_added_again():
    dataset = Dataset()
    dataset.add_class("", 0, "BG")
    assert dataset.class_info == [{"source": "", "id": 0, "name": "BG"}]


@pytest.mark.parametrize("class_id", [0, np.int64(0), 0.0])
def test_add_class_zero_is_reserved_for_background(class_id):
    with pytest.raises(DatasetError, match="class id 0 is reserved for the background"):
        Dataset().add_class("mine", class_id, "car")


@pytest.mark.parametrize("method, args", [("add_class", ("my.source", 1, "car")),
                                          ("add_image", ("my.source", 1, "a.png"))])
def test_source_with_dot_is_rejected(method, args):
    with pytest.raises(DatasetError, match="must not contain a dot"):
        getattr(Dataset(), method)(*args)


def test_source_must_be_str():
    with pytest.raises(DatasetError, match="source must be a str"):
        Dataset().add_image(None, 1, "a.png")


def test_small_accessors(two_sources):
    ds = two_sources
    assert ds.source_image_link(1) == "b.jpg"
    assert ds.image_reference(1) == ""
    assert ds.append_data([], []) is None
    assert ds.num_classes == 4 and ds.num_images == 3      # append_data changed nothing


def test_dataset_error_is_value_error():
    assert issubclass(DatasetError, ValueError)


# --------------------------------------------------------------------------- summary
class MaskListDataset(Dataset):
    """Masks held in image_info: "class_ids" per image (1 x 1 masks)."""

    def load_mask(self, image_id):
        class_ids = np.array(self.image_info[image_id]["class_ids"], np.int32)
        return np.ones((1, 1, len(class_ids)), bool), class_ids


def test_summary_counts_with_load_mask(capsys):
    dataset = MaskListDataset()
    for class_id, name in ((1, "car"), (2, "bus"), (3, "tram")):
        dataset.add_class("road", class_id, name)
    dataset.add_class("rail", 1, "car")                 # a second "car": names get sources
    dataset.add_image("road", "a", "a.png", class_ids=[1, 1, 2, -1])
    dataset.add_image("road", "b", "b.png", class_ids=[])
    dataset.add_image("road", "c", "c.png", class_ids=[4])
    dataset.skipped.append(("ann.json", "shape 3", "line shape (not an area)"))
    dataset.prepare()
    result = dataset.summary()
    # Class ids 1, 1, 2, -1 and 4: car (1) twice + once as crowd, bus (2) once, rail.car (4)
    # once, tram (3) never; image "b" has none.
    assert result == {
        "images": 3,
        "instances": {"road.car": 2, "road.bus": 1, "road.tram": 0, "rail.car": 1},
        "crowds": {"road.car": 1},
        "images_without_instances": [1],
        "skipped": {"line shape (not an area)": [("ann.json", "shape 3")]},
    }
    out = capsys.readouterr().out
    assert "3 images, 4 instances in 4 classes, 1 crowd regions" in out
    assert "road.car" in out and "(+1 crowd)" in out
    assert "1 classes without instances: road.tram" in out
    assert "1 images without instances: b" in out
    assert "1 x line shape (not an area): ann.json shape 3" in out


def test_summary_of_an_empty_dataset():
    result = Dataset().summary(verbose=False)
    assert result == {"images": 0, "instances": {}, "crowds": {},
                      "images_without_instances": [], "skipped": {}}
