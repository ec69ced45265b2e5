#!/usr/bin/env bash
# Install, with apt-get, what `make fuzz` needs and this machine lacks: clang
# and its libFuzzer/sanitizer runtimes (Debian bookworm: clang 14). Idempotent.
set -eu

packages=(
	clang                # the compiler (-fsanitize=fuzzer)
	libclang-rt-14-dev   # libFuzzer, ASan and UBSan runtimes of clang 14
	make
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

echo "fuzz deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "fuzz deps: not root; run as root, or install: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
