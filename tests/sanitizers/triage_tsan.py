#!/usr/bin/python3
"""Sorts the TSan stage's reports into Vigil's and third-party ones, and fails on Vigil's.

Usage: triage_tsan.py REPORT_DIR PROJECT_ROOT MODULE_DIR...

Why: Debian's gRPC is not built with TSan, so the synchronisation inside it is invisible, and
the gRPC++ code that its headers compile into vigil-control (call ops, interceptors, callback
tags) races "with itself" in every report-heavy run. A `race:` suppression naming gRPC++ would
also hide races in Vigil's reactors (they run under gRPC++ frames); so instead each access of a
report is attributed to the code that made it: the innermost frame that is not an interceptor
(memcpy, operator new, ...) or the C and C++ standard libraries.

A report is Vigil's, and fails the stage, when every access in it is made by Vigil's own code
(files under PROJECT_ROOT). When one side is made by gRPC (its headers, or the protobuf code
generated for the messages gRPC allocates, fills and frees), whether the two are ordered depends
on synchronisation TSan cannot see, so TSan cannot judge it: such reports are counted and listed
by their first access, not failed on. Vigil's objects that gRPC hands between threads (reactors,
interceptors) publish themselves with an explicit release/acquire pair so that races between
two of Vigil's own accesses stay visible (agent/control/reactors.h).

The reports are written unsymbolized (TSAN_OPTIONS symbolize=0: online symbolization starts an
llvm-symbolizer child inside the pod under test, which the end-to-end tests would count as a
stray process) and symbolized here with llvm-symbolizer, inlined frames included.
"""
import collections
import os
import re
import subprocess
import sys

SYMBOLIZER = "/usr/lib/llvm-14/bin/llvm-symbolizer"
FRAME = re.compile(r"^\s+#(\d+) .*\((\S+?)\+0x([0-9a-f]+)\)")
ACCESS = re.compile(r"^  (Read|Write|Previous read|Previous write|Atomic|Previous atomic)")
SECTION = re.compile(r"^  \S")
NOT_THE_MAKER = re.compile(
    r"^(__interceptor_|__tsan_|__sanitizer|mem(cpy|set|move|cmp)$|str\w+$|malloc$|free$|"
    r"calloc$|realloc$|operator new|operator delete|pthread_|<null>$)")
STDLIB_FILE = re.compile(r"^(/usr/include/c\+\+/|/usr/lib/gcc/|/usr/include/x86_64-linux-gnu/"
                         r"(bits|sys)/|/usr/include/[a-z_]+\.h$|\?\?$|$)")


def find_module(name, dirs):
    for d in dirs:
        for base, _, files in os.walk(d):
            if name in files:
                return os.path.join(base, name)
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.strip().startswith(name + " "):
            return line.split("=>")[-1].strip()
    return None


class Symbolizer:
    """Symbolizes pcs in batches: one llvm-symbolizer run per module (`prefetch`)."""

    def __init__(self, module_dirs):
        self.dirs = module_dirs
        self.paths = {}
        self.cache = {}

    def prefetch(self, pcs):
        by_module = collections.defaultdict(set)
        for module, pc in pcs:
            if (module, pc) not in self.cache:
                by_module[module].add(pc)
        for module, wanted in by_module.items():
            if module not in self.paths:
                self.paths[module] = find_module(module, self.dirs)
            wanted = sorted(wanted)
            for pc in wanted:
                self.cache[(module, pc)] = [("<null>", "")]
            if not self.paths[module]:
                continue
            out = subprocess.run([SYMBOLIZER, "--inlining", "--demangle",
                                  f"--obj={self.paths[module]}"] + [hex(pc) for pc in wanted],
                                 capture_output=True, text=True).stdout
            blocks = out.split("\n\n")
            for pc, block in zip(wanted, blocks):
                lines = [l for l in block.splitlines() if l.strip()]
                pairs = [(lines[i], lines[i + 1].rsplit(":", 2)[0])
                         for i in range(0, len(lines) - 1, 2)]
                if pairs:
                    self.cache[(module, pc)] = pairs

    def frames(self, module, pc):
        """[(function, file)] for one pc, innermost inlined frame first."""
        if (module, pc) not in self.cache:
            self.prefetch([(module, pc)])
        return self.cache[(module, pc)]


def pc_of(offset, depth):
    return offset if depth == 0 else offset - 1  # a caller's frame holds a return address


def stacks(report):
    """The access stacks of one report: [[(module, offset, depth)]]."""
    found, current, in_access = [], None, False
    for line in report:
        if SECTION.match(line):
            in_access = bool(ACCESS.match(line))
            current = [] if in_access else None
            if in_access:
                found.append(current)
            continue
        m = FRAME.match(line)
        if m and in_access:
            current.append((m.group(2), int(m.group(3), 16), int(m.group(1))))
    return found


def normal(path):
    return os.path.normpath(path) if path.startswith("/") else path


def maker(stack, sym):
    """(function, file) of the innermost frame that made the access."""
    for module, offset, depth in stack:
        for function, path in sym.frames(module, pc_of(offset, depth)):
            path = normal(path)
            if NOT_THE_MAKER.match(function) or STDLIB_FILE.match(path):
                continue
            return function, path
    return "<unknown>", ""


def main():
    report_dir, root, module_dirs = sys.argv[1], os.path.normpath(os.path.abspath(sys.argv[2])), sys.argv[3:]
    sym = Symbolizer(module_dirs)
    reports, crashes = [], []
    for name in sorted(os.listdir(report_dir)):
        text = open(os.path.join(report_dir, name), errors="replace").read()
        for block in text.split("==================\n"):
            if "WARNING: ThreadSanitizer" in block:
                reports.append((name, block.splitlines()))
            elif "ERROR: ThreadSanitizer" in block or "ThreadSanitizer: CHECK failed" in block:
                crashes.append((name, block))
    sym.prefetch({(m.group(2), pc_of(int(m.group(3), 16), int(m.group(1))))
                  for _, lines in reports for m in map(FRAME.match, lines) if m})

    def is_ours(path):
        # Generated protobuf code is compiled here, but its messages are gRPC's to allocate,
        # serialise and free.
        return bool(path) and path.startswith(root + "/") and "/gen/vigil/" not in path

    ours, theirs = [], collections.Counter()
    for name, lines in reports:
        makers = [maker(s, sym) for s in stacks(lines)] or [("<no access stack>", root + "/")]
        if all(is_ours(p) for _, p in makers):
            ours.append((name, lines, makers))
        else:
            theirs[" / ".join(f[:70] for f, _ in makers)] += 1
    if theirs:
        print(f"triage_tsan: {sum(theirs.values())} reports of accesses made by third-party "
              f"code (gRPC++ and its headers), not failed on; by first maker:")
        for function, n in theirs.most_common(15):
            print(f"  {n:4d}  {function}")
    for name, lines, makers in ours:
        print(f"==== {name}: a race in Vigil's code: " +
              "; ".join(f"{f} ({p})" for f, p in makers))
        for line in lines:
            m = FRAME.match(line)
            if not m:
                print(line)
                continue
            depth, module, offset = int(m.group(1)), m.group(2), int(m.group(3), 16)
            for function, path in sym.frames(module, offset if depth == 0 else offset - 1):
                print(f"    #{depth} {function} {path} ({module}+{hex(offset)})")
    for name, block in crashes:  # a crash under TSan (SEGV, a failed check) is always a failure
        print(f"==== {name}: a crash under TSan\n{block}")
    print(f"triage_tsan: {len(ours)} reports in Vigil's code, {len(crashes)} crashes")
    return 1 if ours or crashes else 0


if __name__ == "__main__":
    sys.exit(main())
