#!/usr/bin/env bash
# What `make fuzz` needs besides make: the release's default clang and its
# libFuzzer/sanitizer runtimes (libclang-rt-dev follows the default clang:
# 14 on Debian 12, 19 on Debian 13), installed with apt-get when missing.
exec bash "$(dirname "$0")/../../scripts/deps.sh" clang libclang-rt-dev make
