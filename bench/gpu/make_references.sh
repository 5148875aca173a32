#!/bin/bash
# Writes the PyTorch reference states the CUDA test binaries read (what the CTest fixtures make
# in a build) into $GREENTRAIN_REFERENCE_DIR. Sourced by run_speed.sh and profile_fused.sh, run
# from the repository root.
mkdir -p "$GREENTRAIN_REFERENCE_DIR"
python3 tests/engine/make_reference.py "$GREENTRAIN_REFERENCE_DIR/reference.json" >/dev/null
python3 tests/engine/make_reference.py "$GREENTRAIN_REFERENCE_DIR/reference-one-hidden.json" \
  --hidden 24 >/dev/null
python3 tests/engine/make_cuda_reference.py "$GREENTRAIN_REFERENCE_DIR/cuda_reference.json" >/dev/null
