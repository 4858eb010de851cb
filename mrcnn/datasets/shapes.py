"""Synthetic shapes: Matterport's toy dataset of squares, circles and triangles.

Each image is a plain background colour with 1 to 4 filled shapes of random colours. Nothing
is stored on disk: load_shapes draws a random specification per image, load_image and
load_mask draw it with scikit-image.

Glossary:
    spec        image_info entry: "bg_color" (r, g, b) and "shapes", a list of
                (shape name, (r, g, b) colour, (x, y, s)) drawn in order (later shapes on top).
    (x, y, s)   centre column, centre row and size in pixels: a square spans rows y-s..y+s and
                columns x-s..x+s (inclusive), a circle covers the pixels closer than s + 0.5
                to the centre (same extent), a triangle has its apex at (y - s, x) and its
                base on row y + s, s / sin(60 deg) either side of x.
    classes     source "shapes": 1 square, 2 circle, 3 triangle (0 is the background).
    mask        bool [height, width, instances]; a shape covered by later shapes loses the
                covered pixels (occlusion), and may end up empty.
"""
import math

import numpy as np
import skimage.draw

from mrcnn.config import Config
from mrcnn.core.boxes import non_max_suppression
from mrcnn.datasets.base import Dataset

__all__ = ["ShapesConfig", "ShapesDataset", "SHAPE_NAMES"]

#: Shape names, in the order of their source class ids 1, 2, 3.
SHAPE_NAMES = ("square", "circle", "triangle")
#: Minimum distance in pixels between a shape centre and the image border, and minimum size.
BUFFER = 20
#: Shapes whose boxes overlap more than this IoU are dropped (Matterport's value).
OVERLAP_THRESHOLD = 0.3


class ShapesConfig(Config):
    """Configuration for training on the toy shapes dataset.
    Derives from the base Config class and overrides values specific to the toy shapes dataset
    (Matterport's sample values).
    """
    # Give the configuration a recognizable name
    NAME = "shapes"

    # Train on 1 GPU and 8 images per GPU. Put multiple images on each GPU because the images
    # are small. Batch size is 8 (GPUs * images/GPU).
    GPU_COUNT = 1
    IMAGES_PER_GPU = 8

    # Number of classes (including background)
    NUM_CLASSES = 1 + 3  # background + 3 shapes

    # Use small images for faster training.
    IMAGE_MIN_DIM = 128
    IMAGE_MAX_DIM = 128

    # Use smaller anchors because our image and objects are small
    RPN_ANCHOR_SCALES = (8, 16, 32, 64, 128)  # anchor side in pixels

    # Reduce training ROIs per image because the images are small and have few objects.
    TRAIN_ROIS_PER_IMAGE = 32

    # Use a small epoch since the data is simple
    STEPS_PER_EPOCH = 100

    # use small validation steps since the epoch is small
    VALIDATION_STEPS = 5


class ShapesDataset(Dataset):
    """Generates the shapes synthetic dataset. The dataset consists of simple shapes
    (triangles, squares, circles) placed randomly on a blank surface.
    The images are generated on the fly. No file access required.
    """

    def load_shapes(self, count, height, width, seed=None):
        """Generate the requested number of synthetic images.

        count: number of images to generate.
        height, width: the size of the generated images (height >= 80 and width >= 41, the
            least Matterport's shape sizes fit in).
        seed: None, an int or a numpy.random.Generator; the same seed gives the same images.
        """
        if int(height) < 4 * BUFFER or int(width) < 2 * BUFFER + 1:
            raise ValueError("load_shapes needs height >= {} and width >= {} (shapes are at least "
                             "{} px from the border), got {}x{}".format(
                                 4 * BUFFER, 2 * BUFFER + 1, BUFFER, height, width))
        rng = np.random.default_rng(seed)
        # Add classes
        for class_id, name in enumerate(SHAPE_NAMES, start=1):
            self.add_class("shapes", class_id, name)
        # Add images. Each image gets a random specification: the background colour and the
        # shapes (each with its colour and location). The images are drawn from it in
        # load_image(), so any size works.
        for i in range(count):
            bg_color, shapes = self.random_image(height, width, rng=rng)
            self.add_image("shapes", image_id=i, path=None,
                           width=width, height=height,
                           bg_color=bg_color, shapes=shapes)

    def load_image(self, image_id):
        """Draws the image of image_id from its specification.

        Returns: uint8 [height, width, 3] RGB.
        """
        info = self.image_info[image_id]
        image = np.empty([info["height"], info["width"], 3], dtype=np.uint8)
        image[:] = np.asarray(info["bg_color"], dtype=np.uint8)
        for shape, color, dims in info["shapes"]:
            image = self.draw_shape(image, shape, dims, color)
        return image

    def image_reference(self, image_id):
        """Return the shapes data of the image."""
        info = self.image_info[image_id]
        if info["source"] == "shapes":
            return info["shapes"]
        return super().image_reference(image_id)

    def load_mask(self, image_id):
        """Generate instance masks for shapes of the given image ID.

        Returns: (bool [height, width, shapes], int32 [shapes] class ids). Pixels covered by a
        later shape are removed from the masks of the earlier ones; a completely covered
        shape keeps an empty mask (load_image_gt drops it).
        """
        info = self.image_info[image_id]
        shapes = info["shapes"]
        count = len(shapes)
        mask = np.zeros([info["height"], info["width"], count], dtype=np.uint8)
        for i, (shape, _, dims) in enumerate(shapes):
            mask[:, :, i:i + 1] = self.draw_shape(mask[:, :, i:i + 1].copy(), shape, dims, 1)
        mask = mask.astype(bool)
        # Handle occlusions: a pixel belongs to the last shape drawn on it. covered[..., i]
        # holds the pixels of the shapes drawn after shape i.
        from_here_up = np.logical_or.accumulate(mask[:, :, ::-1], axis=2)[:, :, ::-1]
        covered = np.zeros_like(mask)
        covered[:, :, :-1] = from_here_up[:, :, 1:]
        mask &= ~covered
        # Map class names to class IDs.
        class_ids = np.array([self.map_source_class_id("shapes.{}".format(
            SHAPE_NAMES.index(s[0]) + 1)) for s in shapes], dtype=np.int32)
        return mask, class_ids

    def draw_shape(self, image, shape, dims, color):
        """Draws a filled shape from the given specs into image (in place) and returns it.

        image: [height, width, channels]; color: a value per channel (or one value).
        shape: "square", "circle" or "triangle"; dims: (x, y, s), see the module docstring.
        Parts outside the image are clipped.
        """
        x, y, s = dims
        shape_hw = image.shape[:2]
        if shape == "square":
            rr, cc = skimage.draw.rectangle((y - s, x - s), (y + s, x + s), shape=shape_hw)
        elif shape == "circle":
            # Radius s + 0.5: rows and columns y-s..y+s, x-s..x+s, the extent of the square.
            rr, cc = skimage.draw.disk((y, x), s + 0.5, shape=shape_hw)
        elif shape == "triangle":
            half_base = s / math.sin(math.radians(60))
            # Vertices truncated to integers as Matterport's int32 polygon points.
            rows = np.array([y - s, y + s, y + s], dtype=np.int32)
            cols = np.array([x, x - half_base, x + half_base]).astype(np.int32)
            rr, cc = skimage.draw.polygon(rows, cols, shape=shape_hw)
        else:
            raise ValueError("shape must be one of {}, got {!r}".format(SHAPE_NAMES, shape))
        image[rr, cc] = color
        return image

    def random_shape(self, height, width, rng=None):
        """Generates specifications of a random shape that lies within the given height and
        width boundaries.

        rng: numpy.random.Generator (a fresh unseeded one if None).

        Returns a tuple of three values:
        * The shape name (square, circle, ...)
        * Shape color: a tuple of 3 values, RGB.
        * Shape dimensions: A tuple of values that define the shape size and location
          (x, y, s): centre column, centre row, size.
        """
        rng = np.random.default_rng() if rng is None else rng
        # Shape
        shape = SHAPE_NAMES[int(rng.integers(0, len(SHAPE_NAMES)))]
        # Color
        color = tuple(int(c) for c in rng.integers(0, 256, size=3))
        # Center x, y (inclusive ranges, as Matterport's random.randint)
        y = int(rng.integers(BUFFER, height - BUFFER - 1 + 1))
        x = int(rng.integers(BUFFER, width - BUFFER - 1 + 1))
        # Size
        s = int(rng.integers(BUFFER, height // 4 + 1))
        return shape, color, (x, y, s)

    def random_image(self, height, width, rng=None):
        """Creates random specifications of an image with multiple shapes.

        rng: numpy.random.Generator (a fresh unseeded one if None).

        Returns the background color of the image and a list of shape specifications that can
        be used to draw the image. Of two shapes whose boxes overlap with IoU above 0.3 only the
        later one is kept (non-max suppression scored by shape index, as Matterport).
        """
        rng = np.random.default_rng() if rng is None else rng
        # Pick random background color
        bg_color = tuple(int(c) for c in rng.integers(0, 256, size=3))
        # Generate a few random shapes and record their bounding boxes
        shapes = []
        boxes = []
        count = int(rng.integers(1, 4 + 1))
        for _ in range(count):
            shape, color, dims = self.random_shape(height, width, rng=rng)
            shapes.append((shape, color, dims))
            x, y, s = dims
            boxes.append([y - s, x - s, y + s, x + s])
        # Apply non-max suppression with 0.3 threshold to avoid shapes covering each other
        keep_ixs = non_max_suppression(np.array(boxes), np.arange(count), OVERLAP_THRESHOLD)
        shapes = [s for i, s in enumerate(shapes) if i in keep_ixs]
        return bg_color, shapes
