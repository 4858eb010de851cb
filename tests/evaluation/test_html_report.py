"""Tests of mrcnn/evaluation/html_report.py (and the pictures of mrcnn/visualization/evaluation.py):
the page of hand-made detections checked number by number against the results, the confusion
table and the gallery order worked out by hand; the report of a real evaluate_model run on a tiny
model with training curves; `mrcnn evaluate --report` opened in headless Chromium, where every
picture must load and every figure must read as in the --json file (a screenshot is saved)."""
import html.parser
import json
import os
import shutil

import numpy as np
import PIL.Image
import pytest

from mrcnn.datasets.base import Dataset
from mrcnn.evaluation.evaluator import Evaluator
from mrcnn.evaluation.html_report import write_report
from tiny import call_main, tiny_config

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SHAPE = (48, 48)
NAMES = ["BG", "one", "two & <b>", "three"]


class Page(html.parser.HTMLParser):
    """What a test needs of a report page: its figure cells, pictures, gallery cards, error
    lists and text."""

    def __init__(self, text):
        super().__init__()
        self.cells, self.images, self.cards, self.errors, self.text = {}, [], [], [], []
        self._cell = None
        self._in_li = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td" and "data-key" in attrs:
            self._cell = attrs["data-key"]
            self.cells[self._cell] = [attrs.get("data-value"), ""]
        elif tag == "img":
            self.images.append(attrs["src"])
        elif tag == "div" and "data-image-id" in attrs:
            self.cards.append((int(attrs["data-image-id"]), int(attrs["data-errors"])))
            self.errors.append([])
        elif tag == "li" and self.cards:
            self._in_li = True
            self.errors[-1].append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "li":
            self._in_li = False

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self.cells[self._cell][1] += data
        if self._in_li:
            self.errors[-1][-1] += data


def shown(value):
    """A figure as the page must show it: 3 decimals, "-" for -1."""
    return "-" if value == -1 else f"{value:.3f}"


def expected_cells(results):
    """{data-key: value} of every figure of the results (as the page names them)."""
    cells = {key: value for key, value in results.items()
             if key.split("/")[0] in ("bbox", "segm", "voc")}
    for row in results["per_class"]:
        for key, value in row.items():
            if key.startswith(("bbox/", "segm/")):
                cells[f"class/{row['class_id']}/{key}"] = value
    return cells


def check_figures(page, results):
    """Every figure of the results is on the page once, as shown() writes it, data-value exact."""
    expected = expected_cells(results)
    figure_cells = {k: v for k, v in page.cells.items() if not k.startswith("confusion/")}
    assert sorted(figure_cells) == sorted(expected)
    for key, value in expected.items():
        data_value, text = figure_cells[key]
        assert text.strip() == shown(value), key
        assert float(data_value) == value, key


def rects(boxes):
    masks = np.zeros(SHAPE + (len(boxes),), bool)
    for k, (y1, x1, y2, x2) in enumerate(boxes):
        masks[y1:y2, x1:x2, k] = True
    return masks


def detection(boxes, class_ids, scores):
    return {"rois": np.array(boxes, np.int32).reshape(-1, 4),
            "class_ids": np.array(class_ids, np.int32),
            "scores": np.array(scores, np.float32), "masks": rects(boxes)}


class Handmade(Dataset):
    def load_image(self, image_id):
        image = np.full(SHAPE + (3,), 70, np.uint8)
        image[rects(self.image_info[image_id]["boxes"]).any(axis=2)] = 180
        return image

    def load_mask(self, image_id):
        info = self.image_info[image_id]
        return rects(info["boxes"]), np.array(info["class_ids"], np.int32)


# Image 0: one found; two taken for three (0.8); a two where nothing is (0.6): 1 FN + 2 FP.
# Image 1: three found; one found by a shifted box (IoU 0.9): no error.
# Image 2: two missed: 1 FN.
GROUND_TRUTH = [([(0, 0, 16, 16), (20, 0, 40, 20)], [1, 2]),
                ([(0, 20, 20, 40), (24, 24, 44, 44)], [3, 1]),
                ([(10, 10, 30, 30)], [2])]
DETECTIONS = [detection([(0, 0, 16, 16), (20, 0, 40, 20), (30, 30, 46, 46)], [1, 3, 2],
                        [0.9, 0.8, 0.6]),
              detection([(0, 20, 20, 40), (26, 24, 44, 44)], [3, 1], [0.95, 0.7]),
              detection([], [], [])]


def handmade_evaluator():
    dataset = Handmade()
    for class_id, name in enumerate(NAMES[1:], start=1):
        dataset.add_class("hand", class_id, name)
    for k, (boxes, class_ids) in enumerate(GROUND_TRUTH):
        dataset.add_image("hand", k, f"hand/{k}.png", boxes=boxes, class_ids=class_ids,
                          height=SHAPE[0], width=SHAPE[1])
    dataset.prepare()
    evaluator = Evaluator(dataset)
    for k, det in enumerate(DETECTIONS):
        evaluator.add(k, det)
    return evaluator


def test_report_of_handmade_detections(tmp_path):
    evaluator = handmade_evaluator()
    results = evaluator.summarize()
    assert 0 < results["segm/AP"] < 1
    empty_logs = tmp_path / "logs"
    empty_logs.mkdir()
    out = tmp_path / "report"
    path = write_report(evaluator, results, out, max_images=2, log_dir=empty_logs,
                        provenance={"weights": "w<1>.h5", "dataset": "hand & <made>",
                                    "note": "<script>alert(1)</script>"})
    assert path == os.path.join(out, "index.html")
    text = open(path, encoding="utf-8").read()
    page = Page(text)
    check_figures(page, results)

    # Rows: ground truth (0 background), columns: predictions. Worked out from the comments
    # above GROUND_TRUTH: one found twice, two once taken for three and once missed, three
    # found once, a two hallucinated.
    expected = np.zeros((4, 4), int)
    expected[1, 1] = 2
    expected[2, 3] = 1
    expected[2, 0] = 1
    expected[3, 3] = 1
    expected[0, 2] = 1
    assert {k: int(v[1]) for k, v in page.cells.items() if k.startswith("confusion/")} == {
        f"confusion/{g}/{p}": expected[g, p] for g in range(4) for p in range(4)}

    # Worst first (3, 1, 0 errors), capped at 2, with their errors in words.
    assert page.cards == [(0, 3), (2, 1)]
    assert page.errors == [["two & <b> taken for three (0.80)", "false positive two & <b> (0.60)"],
                           ["missed two & <b>"]]
    # Text is escaped: the markup in names and provenance reads as text, never as tags.
    assert "<script>" not in text and "<b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "two &amp; &lt;b&gt;" in text
    joined = "".join(page.text)
    assert "w<1>.h5" in joined and "hand & <made>" in joined
    assert "No training curves: No TensorBoard event files" in joined

    # Pictures: relative paths of PNG files beside the page.
    assert sorted(page.images) == ["confusion_matrix.png", "image_0.png", "image_2.png",
                                   "precision_recall.png"]
    for src in page.images:
        with PIL.Image.open(out / src) as picture:
            assert picture.format == "PNG" and min(picture.size) > 100


def test_no_gallery_and_bad_arguments(tmp_path):
    evaluator = handmade_evaluator()
    results = evaluator.summarize()
    page = Page(open(write_report(evaluator, results, tmp_path / "r", max_images=0)).read())
    assert page.cards == [] and "image_0.png" not in page.images
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="file, not a folder"):
        write_report(evaluator, results, tmp_path / "file")
    with pytest.raises(ValueError, match="report_images must be an integer >= 0, got -1"):
        write_report(evaluator, results, tmp_path / "r", max_images=-1)
    with pytest.raises(ValueError, match="report_min_score must be a number in"):
        write_report(evaluator, results, tmp_path / "r", min_score=2)
    with pytest.raises(FileNotFoundError, match="log_dir .*nowhere: no such folder"):
        write_report(evaluator, results, tmp_path / "r", log_dir=tmp_path / "nowhere")


# ----------------------------------------------------------------- a real model, the CLI

def write_labelme(folder):
    """Three 64 px labelme images holding 1, 2 and 3 rectangles of the classes a, b, c."""
    folder.mkdir()
    for i in range(3):
        image = np.full((64, 64, 3), 30, np.uint8)
        shapes = []
        for k, label in enumerate("abc"[:i + 1]):
            y, x = 2 + 21 * k, 4 + 8 * i
            image[y:y + 20, x:x + 36] = (200, 140, 90)[k]
            shapes.append({"label": label, "shape_type": "rectangle", "group_id": None,
                           "flags": {}, "points": [[x, y], [x + 35, y + 19]]})
        PIL.Image.fromarray(image).save(folder / f"img{i}.png")
        (folder / f"img{i}.json").write_text(json.dumps({
            "version": "5.4.1", "flags": {}, "imagePath": f"img{i}.png", "imageData": None,
            "imageHeight": 64, "imageWidth": 64, "shapes": shapes}))
    return folder


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """(inference model, weights file, labelme folder): a seeded tiny ResNet18 model whose
    classifier never says background (so that it detects), its weights saved in a run folder
    that also holds TensorBoard loss scalars under train/ and validation/, as train() leaves."""
    import keras
    import tensorflow as tf

    from mrcnn.maskrcnn import MaskRCNN

    root = tmp_path_factory.mktemp("report_run")
    keras.utils.set_random_seed(0)
    model = MaskRCNN("inference", tiny_config(BACKBONE="resnet18"), root / "logs")
    logits = model.keras_model.get_layer("mrcnn_class_logits")
    kernel, bias = logits.get_weights()
    bias[0] = -10.0
    logits.set_weights([kernel, bias])
    run = root / "run"
    for split, losses in (("train", [2.0, 1.5, 1.2]), ("validation", [2.2, 1.8, 1.6])):
        with tf.summary.create_file_writer(str(run / split)).as_default():
            for step, value in enumerate(losses):
                tf.summary.scalar("epoch_loss", value, step=step)
    weights = run / "mask_rcnn_tiny_0003.h5"
    model.save_weights(str(weights))
    return model, weights, write_labelme(root / "labelme")


@pytest.mark.slow
def test_evaluate_model_writes_the_report(trained_run, tmp_path, capsys):
    from mrcnn.datasets import LabelmeDataset
    from mrcnn.evaluate import evaluate_model

    model, weights, folder = trained_run
    dataset = LabelmeDataset()
    dataset.load_labelme(str(folder))
    dataset.prepare()
    out = tmp_path / "report"
    results = evaluate_model(model, dataset, verbose=1, report=str(out), report_images=2,
                             report_min_score=0.3, log_dir=str(weights.parent),
                             provenance={"weights": str(weights), "dataset": "labelme:a<b>"})
    assert f"Report: {out / 'index.html'}" in capsys.readouterr().out
    page = Page((out / "index.html").read_text(encoding="utf-8"))
    check_figures(page, results)
    assert results["num_detections"] > 0
    # Row g of the confusion table adds up to the ground truth of class g.
    for row in results["per_class"]:
        c = row["class_id"]
        assert sum(int(v[1]) for k, v in page.cells.items()
                   if k.startswith(f"confusion/{c}/")) == row["num_gt"]
    assert len(page.cards) == 2
    assert page.cards[0][1] >= page.cards[1][1]
    assert "training_curves.png" in page.images
    for src in page.images:
        assert (out / src).is_file()
    joined = "".join(page.text)
    assert str(weights) in joined and "labelme:a<b>" in joined and "TinyConfig" in joined
    # Arguments are checked before any detect().
    with pytest.raises(FileNotFoundError, match="log_dir"):
        evaluate_model(model, dataset, report=str(out), log_dir=str(tmp_path / "none"))
    with pytest.raises(ValueError, match="report_images"):
        evaluate_model(model, dataset, report=str(out), report_images=-2)


def chromium_paths():
    """(chromium, chromedriver) of Debian's packages chromium and chromium-driver, or a skip."""
    pytest.importorskip("selenium", reason="selenium is not installed (pip install selenium; "
                                           "it is in the test extra)")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("headless Chromium is not installed (apt-get install chromium "
                    "chromium-driver); run_tests.sh installs it where apt-get can")
    return browser, driver


def open_in_chromium(page_path, screenshot):
    """Load the page from disk in headless Chromium: ([(src, complete, naturalWidth)] of its
    pictures, {data-key: (data-value, shown text)}); a full-page screenshot is saved."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    browser, driver_path = chromium_paths()
    options = Options()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1300,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        driver.get(page_path.resolve().as_uri())
        pictures = driver.execute_script(
            "return Array.from(document.images).map("
            "i => [i.getAttribute('src'), i.complete, i.naturalWidth]);")
        cells = {cell.get_attribute("data-key"): (cell.get_attribute("data-value"), cell.text)
                 for cell in driver.find_elements(By.CSS_SELECTOR, "td[data-key]")}
        height = driver.execute_script("return document.documentElement.scrollHeight;")
        driver.set_window_size(1300, min(int(height) + 100, 16000))
        driver.save_screenshot(str(screenshot))
    finally:
        driver.quit()
    return pictures, cells


@pytest.fixture(scope="module")
def chromium():
    """Skips where Chromium is absent, before trained_run builds a model (listed first, and of
    the same scope: pytest sets up wider-scoped fixtures first)."""
    return chromium_paths()


@pytest.mark.slow
def test_cli_report_in_headless_chromium(chromium, trained_run, tmp_path):
    import yaml

    from mrcnn import cli

    _, weights, folder = trained_run
    config = tiny_config(BACKBONE="resnet18").to_dict()
    config_file = tmp_path / "tiny.yaml"
    config_file.write_text(yaml.safe_dump({k: v for k, v in config.items()
                                           if k.isupper() and k not in ("NAME", "NUM_CLASSES")
                                           and hasattr(type(tiny_config()), k)}))
    out, results_path = tmp_path / "report", tmp_path / "evaluation.json"
    code, printed = call_main(cli, ["evaluate", f"labelme:{folder}", "--weights", str(weights),
                                    "--config", str(config_file), "--json", str(results_path),
                                    "--report", str(out), "--report-min-score", "0.3",
                                    "--logs", str(tmp_path / "logs")])
    assert code == 0 and f"Report: {out / 'index.html'}" in printed
    results = json.loads(results_path.read_text())
    # The training curves come from the folder of the weights file, without --report-logs.
    assert (out / "training_curves.png").is_file()

    screenshot = tmp_path / "report_screenshot.png"
    pictures, cells = open_in_chromium(out / "index.html", screenshot)
    print(f"\nscreenshot of the report in headless Chromium: {screenshot}")
    # The 3 images of the gallery, curves, confusion matrix, training curves: all loaded.
    assert len(pictures) == 3 + 3
    for src, complete, width in pictures:
        assert complete and width > 0, src
    expected = expected_cells(results)
    figures = {k: v for k, v in cells.items() if not k.startswith("confusion/")}
    assert sorted(figures) == sorted(expected)
    for key, value in expected.items():
        assert figures[key][1].strip() == shown(value), key
        assert float(figures[key][0]) == value, key
    with PIL.Image.open(screenshot) as picture:
        assert picture.size[0] >= 1000 and picture.size[1] > 2000
