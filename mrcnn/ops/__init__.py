"""TensorFlow tensor operations used inside the Mask R-CNN layers (no Keras layers here)."""
