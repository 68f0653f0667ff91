#!/bin/sh
# Rebuilds the example jobs. Needs Debian's clang, lld and wasi-libc:
#   apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32
# The built .wasm files are committed, so nothing else needs this toolchain.
set -eu
cd "$(dirname "$0")"
for job in wordcount copy mandelbrot; do
  clang --target=wasm32-wasi -O2 -Wall -Wextra -Wl,--strip-all -o "$job.wasm" "$job.c"
  echo "built $job.wasm ($(wc -c < "$job.wasm") bytes)"
done
