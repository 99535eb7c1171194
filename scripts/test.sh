#!/usr/bin/env bash
# Install everything the test suite needs, then run it. Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

# torch first, from the machine's local CPU wheel: letting pip choose pulls GBs of CUDA packages.
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[test,st,ocr,milvus]"   # ocr: scanned PDFs; milvus: the Milvus store tests run on Milvus Lite
bash .ci/install-llm.sh   # llama.cpp server + a tiny GGUF model for the real LLM-path tests
for extra in scripts/install-*.sh; do
    [ -e "$extra" ] && bash "$extra"
done

python -m pytest "$@"
