#!/usr/bin/env bash
# What `make fuzz` needs besides make: clang and its libFuzzer/sanitizer
# runtimes (Debian bookworm: clang 14), installed with apt-get when missing.
exec bash "$(dirname "$0")/../../scripts/deps.sh" clang libclang-rt-14-dev make
