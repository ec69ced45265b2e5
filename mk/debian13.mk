# make test-debian13 - the Debian 13 leg: `make test` of the committed tree
# inside a Debian 13 (trixie) root built with mmdebstrap and cached in
# build/debian13/, then the redirect, forward, cache, sentinel and cluster
# tests against Valkey 8. Needs root. See scripts/debian13.sh for the knobs
# (DEBIAN13_MIRROR, DEBIAN13_MAX_AGE_DAYS, DEBIAN13_STEPS).

.PHONY: test-debian13

test-debian13:
	@bash scripts/debian13.sh
