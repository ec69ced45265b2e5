"""The harness the end-to-end tests (tests/e2e, tests/memcheck) and the
bench (bench/) share: processes (procs), the Redis, Sentinel and Kamailio
wrappers (servers), a Redis Cluster (rcluster), and the SIP layer (sip, a
minimal client; sipua, real user agents). Python 3 standard library only.

With tests/ on sys.path: `from harness import procs, servers, sip`."""
