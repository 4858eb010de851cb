"""Training: layer presets, the training model's step, callbacks, and the ``train()`` driver."""
