"""Keras layers of Mask R-CNN. Each takes explicit arguments and implements ``get_config``."""
