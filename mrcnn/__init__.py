"""mrcnn: Mask R-CNN instance segmentation for Keras 3 on TensorFlow 2.

The modules Matterport users import keep their places: ``mrcnn.config``, ``mrcnn.utils``,
``mrcnn.model`` and ``mrcnn.visualize``. Importing the package itself does not import TensorFlow.
"""
__version__ = "3.0.0.dev0"
