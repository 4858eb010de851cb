"""Training data: ground truth loading, target builders, augmentation and the batch pipeline.

Modules:
    image_gt       load_image_gt: one image, resized and augmented, with its boxes and masks.
    augmentation   apply_augmentation: imgaug / albumentations / plain callables, masks aligned.
    rpn_targets    build_rpn_targets: anchor labels and deltas for the region proposal network.
    roi_targets    generate_random_rois, build_detection_targets: head targets without the RPN.
    pipeline       build_batch, DataSequence (keras.utils.PyDataset) and Matterport's
                   data_generator: the input dict of the training model.

Glossary: boxes are (y1, x1, y2, x2); pixel boxes have y2/x2 exclusive (extract_bboxes);
zero rows are padding; class 0 is background; negative class ids mark crowds.
Nothing here imports Keras layers or the model graph.
"""
