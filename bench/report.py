"""The bench's report: the machine it ran on, the medians over the rounds,
the tables of results.md, the chart bench.png (python3-matplotlib) and
results.json."""

import json
import os
import re
import statistics
import subprocess
import time

import paired
from measure import ROOT, log
from harness.servers import REDIS_SERVER


def _output(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return ""


def _cpu_and_memory():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        m = re.search(r"MemTotal:\s+(\d+)", f.read())
        if m:
            mem = "%.0f GiB" % (int(m.group(1)) / 1048576.0)
    return model, mem


def machine():
    """What ran the bench: CPUs, memory, OS, the versions, the commit."""
    model, mem = _cpu_and_memory()
    kam = _output(["kamailio", "-v"]).splitlines()
    sipp = _output(["sipp", "-v"]).strip()
    rev = _output(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
    dirty = _output(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]).strip()
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    os_name = "?"
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            os_name = f.read().split('PRETTY_NAME="')[1].split('"')[0]
    return {
        "cpus": os.cpu_count(), "cpu": model, "memory": mem,
        "kernel": os.uname().release, "os": os_name,
        "kamailio": kam[0].replace("version: ", "").strip() if kam else "?",
        "redis": _output([REDIS_SERVER, "--version"]).split(" sha=")[0].strip(),
        "sipp": sipp.splitlines()[0].strip() if sipp else "?",
        "valgrind": _output(["valgrind", "--version"]).strip(),
        "commit": rev + ("+changes" if dirty else ""),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "load": load,
    }


def tag(key):
    """A config's name in the tables: its key, "b0" for key "0"."""
    return "b0" if key == "0" else key


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, spec="%.0f", none="-"):
    return none if v is None else spec % v


def ratio(v, ref, spec="%.2f"):
    if v is None or not ref:
        return "-"
    return spec % (v / ref) + "x"


def _summary(r):
    rounds = r["rounds"]

    def at(f):
        return med([x["at_max"].get(f) for x in rounds])

    def fixed(f):
        return med([x["fixed"][f] for x in rounds])
    return {
        "max_rate": med([x["max_rate"] for x in rounds]),
        "bounded": any(x["first_failing"] for x in rounds),
        "p50": fixed("p50_ms"), "p99": fixed("p99_ms"),
        "kam_us": fixed("kam_cpu_us"), "redis_us": fixed("redis_cpu_us"),
        "cmds": fixed("redis_cmds"),
        "max_kam_us": at("kam_us"), "max_redis_us": at("redis_us"),
        "max_sipp_us": at("sipp_us"),
        "instr": r.get("instr_tlsf"),
        "instr_qm": r.get("instr_qm"),
        "alloc": r.get("alloc_tlsf"),
        "alloc_qm": r.get("alloc_qm"),
        "rates": ["%s%d" % ("" if x["first_failing"] else ">=", x["max_rate"])
                  for x in rounds],
        "w_p50": med([x["fixed_writes"]["p50_ms"] for x in rounds if x.get("fixed_writes")]),
        "w_p99": med([x["fixed_writes"]["p99_ms"] for x in rounds if x.get("fixed_writes")]),
        "w_rate": med([x["fixed_writes"]["writes_per_s"] for x in rounds
                       if x.get("fixed_writes")]),
        "w_cmds": med([x["fixed_writes"]["redis_cmds"] for x in rounds if x.get("fixed_writes")]),
        "fixed_fail": sum(x["fixed"]["calls"] - x["fixed"]["ok"] for x in rounds),
        "fixed_calls": sum(x["fixed"]["calls"] for x in rounds),
        "paired": r.get("paired"),
    }


def summarize(results, order):
    """{config key: medians over its rounds} ({"na": why} for one that did not run)."""
    return {key: _na_summary(results[key]) if results[key].get("na") else _summary(results[key])
            for key in order}


def _na_summary(r):
    """A config without rate runs: why, and its callgrind counts if any."""
    return {"na": r["na"], "instr": r.get("instr_tlsf"), "instr_qm": r.get("instr_qm"),
            "alloc": r.get("alloc_tlsf"), "alloc_qm": r.get("alloc_qm")}


def _cpu(r):
    if not r or r.get("na") or r.get("kam_us") is None:
        return None
    return r["kam_us"] + (r["redis_us"] or 0)


def _main_table(rows, order, names, mm):
    """The main table; its instructions are callgrind's under mm."""
    f = "instr" if mm == "tlsf" else "instr_qm"
    a, b = rows.get("a", {}), rows.get("b", {})
    lines = ["| config | max calls/s | vs (a) | p50 ms | p99 ms | instr/call | extra instr vs (a) "
             "| kamailio CPU µs/call | redis CPU µs/call | CPU kamailio+redis vs (a) | vs (b) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key in order:
        r = rows[key]
        label = "(%s) %s" % (tag(key), names[key])
        if r.get("na"):
            instr = r.get(f) is not None and a.get(f) is not None
            lines.append("| %s | %s |%s %s | %s |%s" % (
                label, r["na"], " |" * 3, "{:,.0f}".format(r[f]) if instr else "",
                "{:+,.0f}".format(r[f] - a[f]) if instr else "", " |" * 4))
            continue
        lines.append("| %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, "" if r["bounded"] else ">=", fmt(r["max_rate"]),
            ratio(r["max_rate"], a.get("max_rate")),
            fmt(r["p50"], "%.3f"), fmt(r["p99"], "%.3f"),
            "-" if r[f] is None else "{:,.0f}".format(r[f]),
            "-" if key == "a" or r[f] is None or a.get(f) is None
            else "{:+,.0f}".format(r[f] - a[f]),
            fmt(r["kam_us"], "%.1f"), fmt(r["redis_us"], "%.1f"),
            ratio(_cpu(r), _cpu(a)), ratio(_cpu(r), _cpu(b))))
    return lines


def _detail_table(rows, order, names, rate):
    a = rows.get("a", {})
    lines = ["| config | max calls/s per round | at max: kamailio CPU µs/call | redis | sipp "
             "| redis commands/call (Lua's included) | p50 vs (a) | p99 vs (a) | instr vs (a) "
             "| instr/call with qm | vs (a) | calls failed at %d/s |" % rate,
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key in order:
        r = rows[key]
        if r.get("na"):
            continue
        lines.append("| (%s) %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d of %d |" % (
            tag(key), names[key], ", ".join(r["rates"]), fmt(r["max_kam_us"], "%.1f"),
            fmt(r["max_redis_us"], "%.1f"), fmt(r["max_sipp_us"], "%.1f"),
            fmt(r["cmds"], "%.2f"), ratio(r["p50"], a.get("p50")), ratio(r["p99"], a.get("p99")),
            ratio(r["instr"], a.get("instr")),
            "-" if r["instr_qm"] is None else "{:,.0f}".format(r["instr_qm"]),
            ratio(r["instr_qm"], a.get("instr_qm")), r["fixed_fail"], r["fixed_calls"]))
    return lines


# the targets of the uncached lookups against (b0), the same under both
# memory managers (the issue: the default as cheap as the simplest
# hand-written config): (extra instructions over (a) at most, kamailio +
# redis CPU per call at most, highest call rate at least)
TARGETS = {"tlsf": (0.6, 1.05, 0.95), "qm": (0.6, 1.05, 0.95)}


def _verdict(v, limit, at_most):
    if v is None:
        return "-"
    held = v <= limit if at_most else v >= limit
    return "%.2fx (target %s %gx: %s)" % (v, "<=" if at_most else ">=", limit,
                                          "holds" if held else "MISSED")


def _cpu_against_b0(r, z, limit):
    """The CPU verdict against (b0): side by side when that ran (paired.py),
    the rounds' runs beside it."""
    rounds = _cpu(r) / _cpu(z) if _cpu(r) and _cpu(z) else None
    p = r.get("paired")
    if not p:
        return _verdict(rounds, limit, True)
    return "%s side by side (the medians of %d alternated runs; the rounds' runs: %s)" % (
        _verdict(p["ratio"], limit, True), len(p["us"]), fmt(rounds, "%.2fx"))


def _b0_lines(rows, mm):
    """(c) and (s), uncached, against (b0), the simplest ndb_redis config,
    with the targets; the instructions are those of this memory manager."""
    a, z = rows.get("a"), rows.get("0")
    if not a or not z or a.get("na") or z.get("na"):
        return []
    f = "instr" if mm == "tlsf" else "instr_qm"
    extra = lambda r: r[f] - a[f] if r.get(f) and a.get(f) else None
    t = TARGETS.get(mm, TARGETS["qm"])
    out = []
    for key in ("c", "s"):
        r = rows.get(key)
        if not r or r.get("na"):
            continue
        ex, ez = extra(r), extra(z)
        out += ["", "(%s) against (b0), %s: extra instructions over (a) %s; kamailio + redis "
                "CPU per call %s; highest call rate %s." % (
                    key, mm, _verdict(ex / ez if ex is not None and ez else None, t[0], True),
                    _cpu_against_b0(r, z, t[1]),
                    _verdict(r["max_rate"] / z["max_rate"]
                             if r["max_rate"] and z["max_rate"] else None, t[2], False))]
        out += _outside_allocator(a, z, r, key, mm, t[0])
    return out + _layout_line(a, rows.get("w"), mm)


def _layout_line(a, w, mm):
    """(w), (a)'s work in (c)'s route shape, against (a): how much of a
    count the memory manager's heap layout makes."""
    f, g = ("instr", "alloc") if mm == "tlsf" else ("instr_qm", "alloc_qm")
    if not w or not w.get(f) or not a.get(f):
        return []
    own = ""
    if w.get(g) is not None and a.get(g) is not None:
        own = "; the allocator left out, %+.0f" % ((w[f] - w[g]) - (a[f] - a[g]))
    return ["", "(w), (a)'s static 302 in (c)'s route shape (a switch on $rc), %s: %s "
            "instructions per call, %.2fx (a)'s (%+.0f)%s. The same work per call: what "
            "differs is where the cfg's start-up left free fragments in the heap." % (
                mm, "{:,.0f}".format(w[f]), w[f] / a[f], w[f] - a[f], own)]


def _outside_allocator(a, z, r, key, mm, limit):
    """The same instruction ratio with the memory manager's own instructions
    (qm_malloc, qm_free, tlsf_*) left out of all three configs, and the
    allocator's share of each: under qm, its walk over the free-list buckets
    costs what the free fragments left by the cfg's start-up decide, not what
    a config does per call."""
    f, g = ("instr", "alloc") if mm == "tlsf" else ("instr_qm", "alloc_qm")
    if not all(x.get(f) and x.get(g) is not None for x in (a, z, r)):
        return []
    own = lambda x: x[f] - x[g]
    ez = own(z) - own(a)
    share = lambda x: "%.0f%%" % (100.0 * x[g] / x[f])
    return ["(%s), %s, the allocator left out: extra instructions over (a) %+.0f against "
            "(b0)'s %+.0f, %s. The allocator's share of the instructions: (a) %s, (b0) %s, "
            "(%s) %s." % (key, mm, own(r) - own(a), ez,
                          _verdict((own(r) - own(a)) / ez if ez > 0 else None, limit, True),
                          share(a), share(z), key, share(r))]


# cache_preload's targets: (p)'s rate at least this times (a)'s, its CPU per
# call (kamailio + redis) at most this times (b0)'s
PRELOAD_TARGETS = (0.95, 0.5)


def _preload_lines(rows, mm):
    """(p), the preloaded table, against the static 302 (rate) and (b0)
    (CPU per call), with the targets."""
    a, z, p = rows.get("a"), rows.get("0"), rows.get("p")
    if not p or p.get("na"):
        return []
    rate = (p["max_rate"] / a["max_rate"] if a and not a.get("na") and a["max_rate"]
            and p["max_rate"] else None)
    cpu = (_cpu_against_b0(p, z, PRELOAD_TARGETS[1]) if z and not z.get("na")
           else _verdict(None, PRELOAD_TARGETS[1], True))
    return ["", "(p) cache_preload, %s: highest call rate against (a) %s; kamailio + redis "
            "CPU per call against (b0) %s." % (
                mm, _verdict(rate, PRELOAD_TARGETS[0], False), cpu)]


# the target for gateways: a lookup through gateways costs at most
# this many instructions more than the same lookup with plain targets
GW_TARGET = 1000


def _gw_lines(rows):
    """What resolving gateways costs: (g) against (c), the same users and
    lookup with plain targets, in callgrind's instructions per call under
    tlsf and qm (measured whichever BENCH_MM is), with the target; (h)
    against (g)."""
    c, g, h = rows.get("c"), rows.get("g"), rows.get("h")
    out = []
    for mm, f in (("tlsf", "instr"), ("qm", "instr_qm")):
        ok = lambda r: r and not r.get("na") and r.get(f) is not None
        if ok(c) and ok(g):
            d = g[f] - c[f]
            out.append("- %s: (g) costs %s instructions per call over (c) (%s against %s; "
                       "target at most %s: %s)." % (
                           mm, "{:+,.0f}".format(d), "{:,.0f}".format(g[f]),
                           "{:,.0f}".format(c[f]), "{:+,.0f}".format(GW_TARGET),
                           "holds" if d <= GW_TARGET else "MISSED"))
        elif c and g:
            out.append("- %s: (c) or (g) has no instruction count (failed, or not "
                       "measured): the target is not judged." % mm)
        if ok(g) and ok(h):
            out.append("- %s: (h), 3 gateways in a hash order, costs %s instructions per "
                       "call over (g) (no target)." % (mm, "{:+,.0f}".format(h[f] - g[f])))
    if not out:
        return []
    return ["## Gateways", "", "A lookup through gateways against the same lookup with "
            "plain targets (callgrind, the SIP worker):", ""] + out


# the target for health: a lookup with health on costs at most this
# many instructions more than the same lookup with health off
HEALTH_TARGET = 500


def _health_lines(rows):
    """What health costs a lookup: (k) against (g), the same lookups through
    the same gateways with health off, in callgrind's instructions per call
    under tlsf and qm, with the target; and the redis commands per call of
    both (health adds no round trip per lookup: the prober's few commands
    an interval are spread over the calls)."""
    g, k = rows.get("g"), rows.get("k")
    out = []
    for mm, f in (("tlsf", "instr"), ("qm", "instr_qm")):
        ok = lambda r: r and not r.get("na") and r.get(f) is not None
        if ok(g) and ok(k):
            d = k[f] - g[f]
            out.append("- %s: (k) costs %s instructions per call over (g) (%s against %s; "
                       "target at most %s: %s)." % (
                           mm, "{:+,.0f}".format(d), "{:,.0f}".format(k[f]),
                           "{:,.0f}".format(g[f]), "{:+,.0f}".format(HEALTH_TARGET),
                           "holds" if d <= HEALTH_TARGET else "MISSED"))
        elif g and k:
            out.append("- %s: (g) or (k) has no instruction count (failed, or not "
                       "measured): the target is not judged." % mm)
    if g and k and not g.get("na") and not k.get("na") and g.get("cmds") is not None \
            and k.get("cmds") is not None:
        out.append("- redis commands per call: (k) %.3f, (g) %.3f (%+.3f; no added round "
                   "trip per lookup: %s)." % (
                       k["cmds"], g["cmds"], k["cmds"] - g["cmds"],
                       "holds" if k["cmds"] - g["cmds"] < 0.5 else "MISSED"))
    if not out:
        return []
    return ["## Health", "", "A lookup through gateways with health on (every gateway "
            "down, all_down \"all\") against the same lookup with health off "
            "(callgrind, the SIP worker; redis commands at the fixed rate):", ""] + out


def _tls_line(rows):
    """What TLS costs: (e) against (c), the same lookups over plain TCP."""
    c, e = rows.get("c"), rows.get("e")
    if not c or not e or c.get("na") or e.get("na") or _cpu(c) is None or _cpu(e) is None:
        return []
    return ["", "TLS: (e) costs %+.1f µs kamailio and %+.1f µs redis CPU per call over (c) "
            "(%s its CPU per call), and holds %s its highest call rate." % (
                e["kam_us"] - c["kam_us"], (e["redis_us"] or 0) - (c["redis_us"] or 0),
                ratio(_cpu(e), _cpu(c)), ratio(e["max_rate"], c["max_rate"]))]


def _writes_table(rows, order, names, rate):
    """The cached configs at the fixed rate, idle and while another client
    writes unrelated keys under the prefix."""
    keys = [k for k in order if not rows[k].get("na") and rows[k].get("w_p99") is not None]
    if not keys:
        return []
    lines = ["", "| cached config at %d calls/s | p50 ms idle | p99 ms idle | writes/s "
             "| p50 ms writing | p99 ms writing | p99 writing vs idle "
             "| redis commands/call idle | writing |" % rate,
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key in keys:
        r = rows[key]
        lines.append("| (%s) %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            tag(key), names[key], fmt(r["p50"], "%.3f"), fmt(r["p99"], "%.3f"),
            fmt(r["w_rate"]), fmt(r["w_p50"], "%.3f"), fmt(r["w_p99"], "%.3f"),
            ratio(r["w_p99"], r["p99"]), fmt(r["cmds"], "%.2f"), fmt(r["w_cmds"], "%.2f")))
    return lines


def table(rows, order, names, rate, mm):
    """The Markdown tables of results.md for one memory manager, the targets
    against (b0) and the TLS line."""
    title = ("## -x tlsf -X tlsf" if mm == "tlsf"
             else "## -x %s -X %s%s" % (mm, mm, " (kamailio's default)" if mm == "qm" else ""))
    return "\n".join([title, ""] + _main_table(rows, order, names, mm) + [""] +
                     _detail_table(rows, order, names, rate) +
                     _writes_table(rows, order, names, rate) + _b0_lines(rows, mm) +
                     _preload_lines(rows, mm) +
                     _tls_line(rows))


def _chart_panels(ax, rows, keys, col, rate):
    x = range(len(keys))
    v = [rows[k]["max_rate"] or 0 for k in keys]
    ax[0].bar(x, v, color=col)
    for i, k in enumerate(keys):
        pts = [float(p.lstrip(">=")) for p in rows[k]["rates"]]
        ax[0].plot([i] * len(pts), pts, "k.", ms=6)
        ax[0].text(i, v[i], "%d" % v[i], ha="center", va="bottom")
    ax[0].set_title("highest call rate, < 0.1% failed calls")
    ax[0].set_ylabel("calls/s (median; dots: rounds)")
    w = 0.38
    p50 = [rows[k]["p50"] or 0 for k in keys]
    p99 = [rows[k]["p99"] or 0 for k in keys]
    ax[1].bar([i - w / 2 for i in x], p50, w, label="p50", color=col, alpha=0.6)
    ax[1].bar([i + w / 2 for i in x], p99, w, label="p99", color=col)
    ax[1].set_title("response time INVITE -> 302 at %d calls/s" % rate)
    ax[1].set_ylabel("ms")
    ax[1].legend(["p50", "p99"])
    kam = [rows[k]["kam_us"] or 0 for k in keys]
    red = [rows[k]["redis_us"] or 0 for k in keys]
    ax[2].bar(x, kam, color=col, label="kamailio")
    ax[2].bar(x, red, bottom=kam, color="#ff7f0e", label="redis-server")
    ax[2].set_title("CPU per call at %d calls/s" % rate)
    ax[2].set_ylabel("µs")
    ax[2].legend()


def chart(rows, order, names, path, title, rate):
    """bench.png: max rate, p50/p99 and CPU per call, one bar per config;
    False without python3-matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("bench: python3-matplotlib is missing, no chart")
        return False
    keys = [k for k in order if not rows[k].get("na")]
    colors = {"a": "#7f7f7f", "0": "#ff9896", "b": "#d62728", "c": "#1f77b4",
              "s": "#17becf", "d": "#2ca02c", "p": "#bcbd22", "e": "#9467bd", "f": "#8c564b",
              "g": "#bcbd22", "h": "#e377c2", "k": "#17becf"}
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.8))
    _chart_panels(ax, rows, keys, [colors[k] for k in keys], rate)
    for a_ in ax:
        a_.set_xticks(list(range(len(keys))))
        a_.set_xticklabels(["(%s)\n%s" % (tag(k), names[k]) for k in keys], fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def head(mach):
    """The machine line at the top of results.md."""
    return ("Machine: %d CPUs (%s), %s RAM, %s, kernel %s; %s, %s, %s, %s. "
            "Commit %s, %s; load average at start %s." % (
                mach["cpus"], mach["cpu"], mach["memory"], mach["os"], mach["kernel"],
                mach["kamailio"].split(" (")[0], mach["redis"], mach["sipp"].rstrip("."),
                mach["valgrind"], mach["commit"], mach["date"], " ".join(mach["load"])))


def chart_title(mach):
    return "redisroute bench: %d CPUs (%s), %s, %s; %s" % (
        mach["cpus"], mach["cpu"], mach["kamailio"].split(" (")[0], mach["redis"], mach["date"])


def how(s, mach, done_rounds, total):
    """How it was measured, under the tables; s: the run's settings."""
    return "\n".join([
        "- %d routes in redis-server (60%% string, 25%% list of 3, 15%% sorted set of 3); "
        "calls go to a random working set of %d of %s. kamailio: `children=%d`, -m 64 -M 8, "
        "UDP on 127.0.0.1; sipp, kamailio and redis-server share the %d CPUs. A call is an "
        "INVITE answered 302 and its ACK." % (
            s.routes, s.ws, "the string routes (as (b0) needs; BENCH_WORKSET=mixed: all types)"
            if s.workset != "mixed" else "them, all types", s.workers, mach["cpus"]),
        "- max calls/s: sipp open loop, no retransmissions (a lost request fails the call), "
        "%gs steps; the highest rate with < 0.1%% failed calls at which sipp keeps >= 97%% of "
        "the rate, in one of two tries (a stall of the shared cores can fail any one step; "
        "\">=\": no step above it failed). Median of %d round(s), configs "
        "interleaved, a fresh kamailio each time." % (s.step_secs, done_rounds),
        "- p50/p99: INVITE -> 302 at %d calls/s (open loop from Python; kernel receive "
        "timestamps), the run of two with the lower CPU per call: kamailio (all its "
        "processes) and redis-server, /proc/<pid>/task/*/schedstat; \"at max\": over the "
        "highest step "
        "that held, sipp from its rusage." % s.rate,
        "- CPU per call against (b0) in the target lines, \"side by side\": (b0), (c), (s) "
        "and (p) started together after the rounds, %d fixed-rate runs each at %d calls/s, "
        "alternated; the ratio of their medians (bench/paired.py)." % (paired.TRIES, s.rate),
        "- the rate, latency and CPU runs are made with %s, interleaved in each round "
        "(BENCH_MM keeps one)." % " and ".join("-x %s -X %s" % (m, m) for m in s.mms),
        "- instr/call: callgrind, the SIP worker of a 1-worker kamailio with -x tlsf -X tlsf "
        "(\"with qm\": -x qm -X qm, the default), (Ir(W+N2 calls) - Ir(W+N1 calls)) / (N2-N1) "
        "after W warm-up calls, the measured calls going to the warm-up's users again (so (d) "
        "answers from its cache): %s." % ", ".join(
            "%s W=%d N1=%d N2=%d" % ((mm,) + tuple(c)) for mm, c in s.cg_runs),
        "- %s run: %.0f s." % ("quick (BENCH_QUICK=1)" if s.quick else "full", total)])


def write(s, mach, results, order, names, total, async_res=None):
    """results.md, results.json and bench.png (bench-qm.png for qm) into
    s.out, and the same on the console; results: {memory manager: {config:
    ...}}. The summary rows, per memory manager."""
    rows = {mm: summarize(results[mm], order) for mm in results}
    tbl = "\n\n".join(table(rows[mm], order, names, s.rate, mm) for mm in results)
    # the gateways' target, under both memory managers' callgrind counts
    # (the same in every memory manager's rows)
    gw = _gw_lines(rows[list(results)[0]]) if results else []
    if gw:
        tbl += "\n\n" + "\n".join(gw)
    health = _health_lines(rows[list(results)[0]]) if results else []
    if health:
        tbl += "\n\n" + "\n".join(health)
    if async_res:
        tbl += "\n\n" + "\n".join(async_res["lines"])
    done_rounds = max([len(results[mm][k]["rounds"]) for mm in results for k in order] or [0])
    top, text = head(mach), how(s, mach, done_rounds, total)
    with open(os.path.join(s.out, "results.md"), "w") as f:
        f.write("# redisroute bench\n\n%s\n\n%s\n\n%s\n" % (top, tbl, text))
    with open(os.path.join(s.out, "results.json"), "w") as f:
        json.dump({"machine": mach, "results": results, "summary": rows,
                   "async": {k: v for k, v in (async_res or {}).items() if k != "lines"},
                   "seconds": total, "quick": s.quick}, f, indent=1, default=str)
    pngs = []
    for mm in results:
        name = "bench.png" if mm == list(results)[0] else "bench-%s.png" % mm
        if chart(rows[mm], order, names, os.path.join(s.out, name),
                 "%s; -x %s" % (chart_title(mach), mm), s.rate):
            pngs.append(name)
    for part in ("", top, "", tbl, "", text, ""):
        log(part)
    log("bench: wrote %s/results.md, results.json%s (%.0f s)" % (
        s.out, "".join(", " + p for p in pngs), total))
    return rows
