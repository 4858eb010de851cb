"""Install mrcnn: Mask R-CNN instance segmentation for Keras 3 on TensorFlow 2.

The distribution is "mrcnn-keras3" ("mrcnn" on PyPI is an unrelated 2018 package); the import
name and the command stay ``mrcnn``.
"""
from setuptools import find_packages, setup

setup(
    name="mrcnn-keras3",
    version="3.0.0.dev0",
    description="Mask R-CNN instance segmentation for Keras 3 / TensorFlow 2, "
                "compatible with Matterport's Mask_RCNN API and weights",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    license_files=["LICENSE"],
    packages=find_packages(include=["mrcnn", "mrcnn.*"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16,<2.22",
        "keras>=3.5,<3.16",
        "tensorboard>=2.16",
        "numpy>=2,<3",
        "scikit-image>=0.22",
        "h5py>=3.10",
        "matplotlib>=3.8",
        "pycocotools>=2.0.8",
        "albumentations>=2,<3",
        "pyyaml>=6",
        # The input pipeline's inner loops (mrcnn/core/kernels.py): bilinear resizing equal to
        # scikit-image's, about 10x faster, and releasing the GIL for the loading threads.
        "numba>=0.60",
    ],
    entry_points={"console_scripts": ["mrcnn=mrcnn.cli:main"]},
    extras_require={
        # Matterport's imgaug augmenters. imgaug 0.4.0 does not import with NumPy 2;
        # the maintained fork "imaug" imports as `imgaug`.
        "imgaug": ["imaug"],
        # imaug is in the test extra so that the imgaug augmentation path is tested too.
        # selenium drives headless Chromium in the evaluation report's browser test.
        # ruff: run_tests.sh lints before the tests (clean with 0.13 to 0.17; 0.6 still had
        # UP038/UP027, and a new minor release may add rules). build, setuptools, wheel: the
        # packaging test builds the wheel and sdist without build isolation (no downloads).
        "test": ["pytest>=8", "pytest-xdist>=3", "nbclient", "nbformat", "ipykernel", "imaug",
                 "selenium>=4.10", "ruff>=0.13,<0.18", "build>=1", "setuptools>=61", "wheel"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Image Recognition",
    ],
)
