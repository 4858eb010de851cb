#!/usr/bin/env bash
# Set up a virtual environment (once), then train Mask R-CNN on synthetic shapes from scratch,
# print its mAP@0.5 on held-out images and save pictures of its detections to demo_output/.
#   ./run_demo.sh                 about 15 minutes of training on a 2-core CPU
#   ./run_demo.sh --minutes 3     extra arguments go to samples/shapes/train_shapes.py
set -euo pipefail
cd "$(dirname "$0")"
MRCNN_EXTRAS=
source scripts/venv.sh
exec "$VENV/bin/python" samples/shapes/train_shapes.py "$@"
