#!/usr/bin/env bash
# Fetch, on a machine with PyPI access, what tools/analysis/gpu_check.sh installs on a GPU
# machine that reaches no registry: the OpenMMLab wheels for the device's Python (3.12)
# and the sdist of spatial-correlation-sampler (the released TCM's op, built there).
# Everything goes to .device/ (git-ignored, about 16 MB).
#   bash tools/analysis/gpu_prepare.sh [PYTHON_VERSION]
set -euo pipefail
cd "$(dirname "$0")/../.."
PYV=${1:-3.12}
mkdir -p .device/wheels .device/sdist
platforms=""
for p in manylinux_2_28_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 \
         manylinux2010_x86_64 manylinux1_x86_64 any; do
  platforms="$platforms --platform $p"
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYV" \
  --implementation cp $platforms -d .device/wheels \
  mmengine==0.10.7 mmcv-lite==2.1.0 mmaction2==1.2.0 addict yapf termcolor \
  importlib-metadata zipp platformdirs decord==0.6.0
# pip download of an sdist runs its setup.py (which imports torch): take the file directly.
SDIST=spatial_correlation_sampler-0.5.0.tar.gz
SHA=872d720d3740f3caf0d15620af5180af8a1971568f9c7cda3664757262688d11
if ! echo "$SHA  .device/sdist/$SDIST" | sha256sum -c --quiet 2>/dev/null; then
  url=$(python3 -c "import json,urllib.request as u; d=json.load(u.urlopen('https://pypi.org/pypi/spatial-correlation-sampler/0.5.0/json')); print([x['url'] for x in d['urls'] if x['packagetype']=='sdist'][0])")
  python3 -c "import sys,urllib.request as u; u.urlretrieve(sys.argv[1], sys.argv[2])" "$url" ".device/sdist/$SDIST"
  echo "$SHA  .device/sdist/$SDIST" | sha256sum -c --quiet
fi
ls -l .device/wheels .device/sdist
