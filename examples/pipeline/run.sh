#!/bin/sh
# The pipeline without git prov: prepare -> train -> report.
set -eu
cd "$(dirname "$0")"
python3 prepare.py
python3 train.py --lr "${LR:-0.05}" --epochs "${EPOCHS:-20}"
python3 report.py
