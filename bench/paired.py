"""The CPU targets side by side: (b0) and the configs compared to it ((c),
(s), (p)) run at the same time, and their fixed-rate runs alternate.

In the rounds, each config's fixed-rate run sits minutes from (b0)'s, and a
stall of the shared cores in between moves a ratio by 10-20% (the same build
gave (c) 1.02x, 1.06x and 0.85x (b0)'s CPU per call in three runs). Here
every config is measured TRIES times, alternated with the others, and a
ratio is the ratio of the medians: one stall moves one run of each, not the
verdict."""

import statistics

import measure
from measure import Failed, log

KEYS = ("c", "s", "p")
TRIES = 5


def run(s, redis, users, confs, results):
    """Into results[mm][key]["paired"] for each key of KEYS that ran:
    {"us": its CPU per call in each try, "b0_us": (b0)'s, "ratio"}."""
    for mm in s.mms:
        keys = [k for k in ("0",) + KEYS if k in s.order and not results[mm][k].get("na")]
        if "0" not in keys or len(keys) < 2:
            continue
        log("bench: %s side by side, %s, %d alternated fixed-rate runs each" % (
            ", ".join("(%s)" % ("b0" if k == "0" else k) for k in keys), mm, TRIES))
        started = {}
        try:
            measure.ensure_redis(redis, s.routes)
            for key in keys:
                k = measure.Kamailio(confs[key], redis, s.work, s.workers, mm=mm)
                started[key] = k
                k.start()
            for k in started.values():
                # the working set once, as the rounds' warm-up
                measure.fixed_rate(k, redis, users, s.rate, len(users) / float(s.rate))
            runs = {key: [] for key in keys}
            for _ in range(TRIES):
                for key in keys:
                    f = measure.fixed_rate(started[key], redis, users, s.rate, s.fixed_secs)
                    if f["ok"] < f["calls"]:
                        raise Failed("(%s) lost %d of %d calls" % (key, f["calls"] - f["ok"],
                                                                   f["calls"]))
                    runs[key].append(measure.cpu_per_call(f))
            z = statistics.median(runs["0"])
            for key in keys[1:]:
                ratio = statistics.median(runs[key]) / z
                results[mm][key]["paired"] = {"us": runs[key], "b0_us": runs["0"],
                                              "ratio": ratio}
                log("  (%s) against (b0), %s, side by side: %.2fx (µs/call %s against %s)" % (
                    key, mm, ratio, " ".join("%.1f" % v for v in runs[key]),
                    " ".join("%.1f" % v for v in runs["0"])))
        except Failed as e:
            log("  side by side, %s, FAILED: %s" % (mm, e))
        finally:
            for k in started.values():
                k.stop()
