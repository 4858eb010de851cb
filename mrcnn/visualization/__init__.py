"""The drawing code behind :mod:`mrcnn.visualize` (Matterport's module name), by concept."""
