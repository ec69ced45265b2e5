#!/usr/bin/python3
"""Reads the valgrind logs of a `make memcheck` run (one vg.<pid>.log per
kamailio process) and judges them.

Fails (exit 1) when any memcheck error has a frame of redisroute in one of its
stacks (the faulting stack, or the stack that allocated/freed the block): an
invalid read or write, a use of uninitialised memory (conditional jump, value,
syscall parameter), a definitely lost block, an invalid or mismatched free,
an overlapping copy, a fatal signal, or a MEMSHIM-ERROR of
tests/memcheck/shim (corrupted canary or double free of a redisroute shm
block). Errors with no redisroute frame (kamailio core, other modules,
libraries) are listed, deduplicated, and do not fail the run.

Also fails when there is no log at all (valgrind did not run).

    vgreport.py LOGDIR [--module-re REGEX] [--show N]
Last line on success: "memcheck: N processes, 0 errors in redisroute".
"""

import argparse
import collections
import glob
import os
import re
import sys

# a frame belongs to the module when it is in redisroute.so or in one of its
# source files (rdr_*.c, redisroute_mod.c)
DEFAULT_MODULE_RE = (r"redisroute\.so|\((?:rdr_[a-z_]+|redisroute_mod)\.[ch]:\d+\)"
                     r"|:\s(?:rdr_[a-z_0-9]+|sip_redirect\w*|w_sip_\w+)\s\(")

LINE = re.compile(r"^==(\d+)== ?(.*)$")
CLIENT = re.compile(r"^\*\*(\d+)\*\* ?(.*)$")
FRAME = re.compile(r"^\s+(?:at|by) (0x[0-9A-Fa-f]+): (.*)$")

KINDS = [
    ("invalid read", re.compile(r"^Invalid read of size")),
    ("invalid write", re.compile(r"^Invalid write of size")),
    ("uninitialised", re.compile(
        r"^(Conditional jump or move depends on uninitialised"
        r"|Use of uninitialised value"
        r"|Syscall param .* (?:contains|points to) uninitialised)")),
    ("definitely lost", re.compile(r"are definitely lost in loss record")),
    ("invalid free", re.compile(r"^(Invalid free|Mismatched free|Invalid realloc)")),
    ("overlap", re.compile(r"^Source and destination overlap")),
    ("fishy argument", re.compile(r"^Argument '.*' of function .* has a fishy")),
    ("fatal signal", re.compile(r"^Process terminating with default action of signal")),
]


class Error:
    def __init__(self, kind, head, pid):
        self.kind = kind
        self.head = head
        self.pid = pid
        self.lines = []
        self.frames = []

    def signature(self):
        # "rdr_lookup (rdr_lookup.c:120)" as it is; a frame without a source
        # line ("yyparse (in /usr/sbin/kamailio)", "???") with its address
        funcs = [f if re.search(r"\([^()]*:\d+\)$", f) else addr + " " + f
                 for addr, f in self.frames]
        return (self.kind, tuple(funcs[:12]))


def parse_log(path):
    """Returns (pid, command, finished, suppressed, [Error])."""
    pid, command, finished, suppressed = None, "", False, 0
    errors = []
    cur = None
    with open(path, errors="replace") as fh:
        for raw in fh:
            raw = raw.rstrip("\n")
            m = CLIENT.match(raw)
            if m:  # VALGRIND_PRINTF_BACKTRACE from the shim
                text = m.group(2)
                if "MEMSHIM-ERROR" in text:
                    cur = Error("memshim", text.strip(), m.group(1))
                    errors.append(cur)
                continue
            m = LINE.match(raw)
            if not m:
                continue  # gen-suppressions blocks and the like
            pid = pid or m.group(1)
            text = m.group(2)
            if text.startswith("Command: ") and not command:
                command = text[len("Command: "):]
                continue
            if text.startswith("ERROR SUMMARY:"):
                finished = True
                sm = re.search(r"suppressed: (\d+) from", text)
                suppressed = int(sm.group(1)) if sm else 0
                cur = None
                continue
            if text == "":
                if cur is not None and cur.kind != "memshim":
                    cur = None
                continue
            fm = FRAME.match(text)
            if fm:
                if cur is not None:
                    cur.frames.append((fm.group(1), fm.group(2)))
                    cur.lines.append(text)
                continue
            if cur is not None and (text.startswith(" ") or text.startswith("Address")
                                    or text.startswith("Block was")
                                    or text.startswith("Uninitialised value was")):
                cur.lines.append(text)
                continue
            cur = None
            for kind, rx in KINDS:
                if rx.search(text):
                    cur = Error(kind, text, m.group(1))
                    errors.append(cur)
                    break
    return pid, command, finished, suppressed, errors


# where a process the module forks runs every module's child_init: what
# happens below it (another module's start-up) is not the module's
FORK_INIT = re.compile(r"^(?:init_child|init_mod_child) ")


def is_ours(e, module_re):
    """An error is the module's when one of its frames is in the stack, unless
    the first of them only forked the process in whose start-up (init_child,
    other modules' child_init) the error happened."""
    if module_re.search(e.head):
        return True
    for _, f in e.frames:
        if FORK_INIT.search(f):
            return False
        if module_re.search(f):
            return True
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("logdir")
    ap.add_argument("--module-re", default=DEFAULT_MODULE_RE)
    ap.add_argument("--module-name", default="redisroute")
    ap.add_argument("--show", type=int, default=14,
                    help="stack lines shown per error")
    args = ap.parse_args()
    module_re = re.compile(args.module_re)

    logs = sorted(glob.glob(os.path.join(args.logdir, "vg.*.log")))
    if not logs:
        print("memcheck: no valgrind log in %s: valgrind did not run" % args.logdir)
        return 1

    ours = collections.OrderedDict()
    others = collections.OrderedDict()
    unfinished = []
    commands = collections.Counter()
    nsuppressed = 0
    for path in logs:
        pid, command, finished, suppressed, errors = parse_log(path)
        nsuppressed += suppressed
        commands[os.path.basename(command.split(" ")[0]) if command else "?"] += 1
        if not finished:
            unfinished.append(os.path.basename(path))
        for e in errors:
            bucket = ours if is_ours(e, module_re) else others
            sig = e.signature()
            if sig not in bucket:
                bucket[sig] = [e, 0, set()]
            bucket[sig][1] += 1
            bucket[sig][2].add(os.path.basename(path))

    def show(title, bucket):
        print(title)
        for (kind, _), (e, n, files) in bucket.items():
            print("  [%s] %s  (x%d, in %d process(es), e.g. %s)"
                  % (kind, e.head, n, len(files), sorted(files)[0]))
            for line in e.lines[:args.show]:
                print("      " + line)

    nprocs = len(logs)
    print("memcheck: %d valgrind logs in %s (%s)" % (
        nprocs, args.logdir,
        ", ".join("%s: %d" % kv for kv in sorted(commands.items()))))
    if nsuppressed:
        print("memcheck: %d report(s) suppressed by tests/memcheck/kamailio.supp "
              "(kamailio core)" % nsuppressed)
    if unfinished:
        print("memcheck: %d process(es) did not finish under valgrind (killed?), "
              "their leak check is missing: %s" % (len(unfinished),
                                                     " ".join(unfinished[:20])))
    if others:
        total = sum(v[1] for v in others.values())
        show("memcheck: %d distinct report(s) (%d in all) outside %s "
             "(kamailio core, other modules, libraries) - not failing:"
             % (len(others), total, args.module_name), others)
    nerr = sum(v[1] for v in ours.values())
    if ours:
        show("memcheck: %d distinct error(s) IN %s:" % (len(ours), args.module_name),
             ours)
    by_kind = collections.Counter()
    for (kind, _), (e, n, files) in ours.items():
        by_kind[kind] += n
    detail = (" (%s)" % ", ".join("%s: %d" % kv for kv in sorted(by_kind.items()))
              if by_kind else "")
    print("memcheck: %d processes, %d errors in %s%s"
          % (nprocs, nerr, args.module_name, detail))
    return 1 if nerr else 0


if __name__ == "__main__":
    sys.exit(main())
