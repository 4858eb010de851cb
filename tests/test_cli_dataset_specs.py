"""mrcnn/cli.py dataset specs with KEY=VALUE options (issue 15, item 2): parsing per format,
argparse errors (exit 2, one line, naming the format's options), a multi-class VIA set written
here (the class-key warning, the classes with class_key, the summary printed by load_dataset,
a validation set's classes), and the real via_rice_leaf set where ../shared/datasets exists."""
import argparse
import json
import logging
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

from mrcnn import cli
from mrcnn.cli import DatasetSpec, parse_dataset_spec

SHARED = Path(__file__).parents[1].parent / "shared" / "datasets"
RICE = SHARED / "via_rice_leaf"


# ------------------------------------------------------------------------------ parsing

@pytest.mark.parametrize("spec, expected", [
    ("via:regions.json:images:class_key=class_id",
     DatasetSpec("via", ("regions.json", "images"), (("class_key", "class_id"),))),
    ("via:regions.json:group_key=group",
     DatasetSpec("via", ("regions.json", None), (("group_key", "group"),))),
    ("via:r.json:class_key=kind.name:class_names=cat,dog",
     DatasetSpec("via", ("r.json", None), (("class_key", "kind.name"),
                                           ("class_names", ("cat", "dog"))))),
    ("labelme:signs:class_names=stop,yield",
     DatasetSpec("labelme", ("signs",), (("class_names", ("stop", "yield")),))),
    ("coco:ann.json:images:class_ids=18,1",
     DatasetSpec("coco", ("ann.json", "images"), (("class_ids", (18, 1)),))),
    ("masks:stage1:class_map=map.yaml:class_names=nucleus",
     DatasetSpec("masks", ("stage1",), (("class_map", "map.yaml"),
                                        ("class_names", ("nucleus",))))),
    ("voc:VOC2012:val:class_names=a,b",
     DatasetSpec("voc", ("VOC2012", "val"), (("class_names", ("a", "b")),))),
])
def test_specs_with_options_parse_and_print_back(spec, expected):
    parsed = parse_dataset_spec(spec)
    assert parsed == expected
    assert str(parsed) == spec


def test_specs_without_options_are_as_before():
    assert parse_dataset_spec("via:a.json") == DatasetSpec("via", ("a.json", None), ())
    assert str(parse_dataset_spec("via:a.json")) == "via:a.json"
    assert str(parse_dataset_spec("my_sets:make")) == "my_sets:make"


VIA_OPTIONS = "the options of via: class_key=ATTR, group_key=ATTR, class_names=NAME,NAME,..."


@pytest.mark.parametrize("spec, message", [
    ("via:a.json:colour=red", "unknown option 'colour'; " + VIA_OPTIONS),
    ("via:a.json:images:class_key=", "option class_key has no value (write class_key=ATTR); "
                                     + VIA_OPTIONS),
    ("via:a.json:class_key", "option class_key has no value (write class_key=ATTR); "
                             + VIA_OPTIONS),
    ("via:a.json:class_key=a:class_key=b", "option class_key is given twice"),
    ("via:a.json:class_key=a:images", "'images' after the options is not KEY=VALUE"),
    ("via:a.json:class_names=cat,cat", "class_names lists ['cat'] more than once"),
    ("labelme:signs:class_key=kind", "unknown option 'class_key'; the options of labelme: "
                                     "class_names=NAME,NAME,..."),
    ("coco:a.json:images:class_ids=1,x", "class_ids must be category ids (positive integers)"),
    ("yolo:data.yaml:class_names=a", "unknown option 'class_names'; yolo takes no options"),
])
def test_bad_options_exit_2_with_one_line_naming_the_options(spec, message, capsys):
    with pytest.raises(argparse.ArgumentTypeError) as error:
        parse_dataset_spec(spec)
    assert message in str(error.value) and repr(spec) in str(error.value)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["evaluate", spec])
    assert exit_.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("mrcnn evaluate: error: argument DATASET: ") and message in last


def test_help_shows_the_options_of_each_format(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for piece in ("[:class_key=ATTR][:group_key=ATTR]", "labelme:FOLDER[:class_names=",
                  "[:class_ids=ID,ID,...]"):
        assert piece in text.replace(" ", "")


# ------------------------------------------------------------------------------ a VIA set

#: (image, [(species, colour, x, y, side)]): squares in 64x64 images.
REGIONS = [("a.png", [("cat", "black", 4, 4, 10), ("dog", "brown", 30, 30, 12)]),
           ("b.png", [("cat", "white", 10, 40, 8)]),
           ("c.png", [("dog", "black", 20, 8, 16), ("dog", "white", 40, 40, 9),
                      ("cat", "brown", 2, 30, 6)])]


def write_via(folder, options=None):
    """A VIA 2 export of REGIONS (and its images) in ``folder``; with ``options`` a VIA 2
    project whose "species" attribute is a dropdown of them."""
    folder.mkdir(parents=True, exist_ok=True)
    metadata = {}
    for name, squares in REGIONS:
        PIL.Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(folder / name)
        regions = [{"shape_attributes": {"name": "rect", "x": x, "y": y, "width": side,
                                         "height": side},
                    "region_attributes": {"species": species, "colour": colour}}
                   for species, colour, x, y, side in squares]
        metadata[name + "1"] = {"filename": name, "size": 1, "regions": regions,
                                "file_attributes": {}}
    content = metadata
    if options is not None:
        content = {"_via_img_metadata": metadata, "_via_attributes": {"region": {
            "species": {"type": "dropdown", "options": {o: o.upper() for o in options}},
            "colour": {"type": "text"}}, "file": {}}}
    path = folder / "regions.json"
    path.write_text(json.dumps(content))
    return path


def test_via_without_class_key_warns_naming_the_attributes(tmp_path, caplog, capsys):
    path = write_via(tmp_path)
    with caplog.at_level(logging.WARNING, logger="mrcnn.datasets.via"):
        dataset = cli.load_dataset(parse_dataset_spec(f"via:{path}"))
    assert dataset.class_names == ["BG", "object"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "mrcnn.datasets.via"]
    assert len(warnings) == 1
    assert "every region was loaded as the one class 'object'" in warnings[0]
    assert "'species' (2 values: cat, dog)" in warnings[0]
    assert "'colour' (3 values: black, brown, white)" in warnings[0]
    # The most varied attribute is the one suggested, for Python and the command line.
    assert "pass class_key='colour' (command line: add :class_key=colour" in warnings[0]
    assert "3 images, 6 instances in 1 classes" in capsys.readouterr().out


def test_via_class_key_gives_the_classes_and_the_summary_is_printed(tmp_path, caplog, capsys):
    path = write_via(tmp_path)
    spec = f"via:{path}:{tmp_path}:class_key=species"
    with caplog.at_level(logging.WARNING, logger="mrcnn.datasets.via"):
        dataset = cli.load_dataset(parse_dataset_spec(spec))
    assert not [r for r in caplog.records if r.name == "mrcnn.datasets.via"]
    assert dataset.class_names == ["BG", "cat", "dog"]
    counts = {"cat": 0, "dog": 0}
    for _, squares in REGIONS:
        for species, *_ in squares:
            counts[species] += 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Dataset {spec}:"
    assert lines[1] == "3 images, 6 instances in 2 classes"
    assert [line.split() for line in lines[2:4]] == [["cat", str(counts["cat"])],
                                                      ["dog", str(counts["dog"])]]
    for image_id, (_name, squares) in enumerate(REGIONS):
        _, class_ids = dataset.load_mask(image_id)
        assert [dataset.class_names[i] for i in class_ids] == [s[0] for s in squares]


def test_via_attribute_options_give_the_classes_in_their_order(tmp_path, capsys):
    path = write_via(tmp_path, options=["dog", "cat", "bird"])
    dataset = cli.load_dataset(parse_dataset_spec(f"via:{path}:class_key=species"))
    assert dataset.class_names == ["BG", "dog", "cat", "bird"]   # bird: no region, still a class
    # class_names in the spec choose and order the classes (the loader's class_names).
    dataset = cli.load_dataset(parse_dataset_spec(f"via:{path}:class_key=species:"
                                                  f"class_names=cat"))
    assert dataset.class_names == ["BG", "cat"]
    assert dataset.summary(verbose=False)["instances"] == {"cat": 3}


def test_a_via_validation_set_needs_the_class_key_and_the_same_classes(tmp_path, capsys):
    path = write_via(tmp_path)
    with pytest.raises(cli.runner.UsageError, match=r"the training set's 2 classes come from a "
                                                     r"region attribute: add :class_key=ATTR"):
        cli.load_dataset(parse_dataset_spec(f"via:{path}"), ["cat", "dog"], role="val")
    with pytest.raises(cli.runner.UsageError, match="class_names differs from the training "
                                                    "set's classes cat,dog"):
        cli.load_dataset(parse_dataset_spec(f"via:{path}:class_key=species:class_names=dog"),
                         ["BG", "cat", "dog"], role="val")
    val = cli.load_dataset(parse_dataset_spec(f"via:{path}:class_key=species"), ["dog", "cat"],
                           role="val")
    assert val.class_names == ["BG", "dog", "cat"]


def test_options_the_loader_refuses_are_one_line_exit_1(tmp_path, capsys):
    path = write_via(tmp_path)
    code = cli.main(["evaluate", f"via:{path}:class_key=species:group_key=species"])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"mrcnn: error: dataset via:{path}:class_key=species:group_key="
                          f"species: ") and "group_key and class_key are both" in err
    assert "\n" not in err


# ------------------------------------------------------------------------------ real set

@pytest.mark.skipif(not RICE.is_dir(), reason=f"the real datasets folder {SHARED} is absent "
                                               f"(only the project's shared workspace has it)")
def test_rice_leaf_warns_without_class_key_and_has_3_classes_with_it(caplog, capsys):
    path = RICE / "val" / "via_region_data.json"
    with caplog.at_level(logging.WARNING, logger="mrcnn.datasets.via"):
        plain = cli.load_dataset(parse_dataset_spec(f"via:{path}"), role="val")
    assert plain.num_classes == 2
    assert any("'class_id' (3 values: bacteria, brown_spot, leaf_smut)" in r.getMessage()
               and "add :class_key=class_id" in r.getMessage() for r in caplog.records)
    keyed = cli.load_dataset(parse_dataset_spec(f"via:{path}:class_key=class_id"), role="val")
    assert keyed.class_names == ["BG", "bacteria", "brown_spot", "leaf_smut"]
    # Instances per class counted from the file itself.
    counts = {}
    for entry in json.loads(path.read_text()).values():
        regions = entry["regions"]
        for region in regions.values() if isinstance(regions, dict) else regions:
            name = region["region_attributes"].get("class_id")
            if name:
                counts[name] = counts.get(name, 0) + 1
    assert keyed.summary(verbose=False)["instances"] == counts
    assert "in 3 classes" in capsys.readouterr().out
