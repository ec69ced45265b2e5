# make test-debian13 - the Debian 13 leg: `make test` of the committed tree
# inside a Debian 13 (trixie) root built with mmdebstrap and cached in
# build/root-trixie/, then the redirect, forward, cache, sentinel and cluster
# tests against Valkey, then make intree-check (mk/intree.mk: the module
# built inside the Kamailio 6.0 SDK, with CMake and with its make).
# make test-debian12 does the same in a fresh Debian 12
# (bookworm) root. Both need root. See scripts/debian-root.sh for the knobs
# (ROOT_MIRROR, ROOT_MAX_AGE_DAYS, ROOT_STEPS).

.PHONY: test-debian13 test-debian12

test-debian13:
	@bash scripts/debian-root.sh trixie

test-debian12:
	@bash scripts/debian-root.sh bookworm
