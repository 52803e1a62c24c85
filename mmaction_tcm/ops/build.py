"""Build the native ops ahead of time: ``python -m mmaction_tcm.ops.build [--verbose]``.

Prints the cached library path and the build time; exits 1 (with the reason) when the
ops cannot be built. See :mod:`mmaction_tcm.ops.extension` for the cache location and
the ``MMACTION_TCM_BUILD_OPS`` switch.
"""
import argparse
import sys
import time

from . import extension


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--verbose', action='store_true', help='show compiler output')
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        lib = extension.load(verbose=args.verbose, allow_compile=True)
    except extension.NativeBuildError as exc:
        print(f'mmaction_tcm native ops: build failed: {exc}', file=sys.stderr)
        return 1
    with_cuda = extension.has_cuda_kernels()
    print(f'mmaction_tcm native ops ready ({"CPU+CUDA" if with_cuda else "CPU"}) in '
          f'{time.perf_counter() - start:.1f} s: {lib}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
