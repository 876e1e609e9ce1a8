#!/usr/bin/env python3
"""Instructions per event in plugins' compiled code, by function, from callgrind.

callgrind counts the instructions of code that wasmtime compiles at run time
but cannot name it (`???:0x...`). Run with `FAULTLINE_PROFILE=perfmap`,
faultline writes /tmp/perf-PID.map, which names every compiled function;
this script reads both. Two runs over N events and over one event, each with
its map, give the cost per event without start-up (compiling, configuring):

    for n in 1 1000; do
      FAULTLINE_PROFILE=perfmap valgrind --tool=callgrind --smc-check=all-non-file \\
        --callgrind-out-file=cg.$n target/release/faultline process --config vg.toml \\
        --input ev$n.ndjson > /dev/null
      mv "$(ls -t /tmp/perf-*.map | head -1)" map.$n
    done
    scripts/callgrind_guest.py cg.1000 map.1000 cg.1 map.1 999

(vg.toml and the events: see BENCHMARKS.md, "Since 9fd258d".) It prints the
plugins' instructions per event in all, then by function, the largest first.
"""

import bisect
import re
import subprocess
import sys


def guest_costs(callgrind_out, perf_map):
    """Instructions of each compiled plugin function (exclusive), by name."""
    entries = []
    with open(perf_map) as f:
        for line in f:
            addr, size, name = line.rstrip("\n").split(" ", 2)
            entries.append((int(addr, 16), int(size, 16), name))
    entries.sort()
    starts = [e[0] for e in entries]
    text = subprocess.run(
        ["callgrind_annotate", "--threshold=100", callgrind_out],
        capture_output=True, text=True, check=True,
    ).stdout
    costs = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+\?\?\?:0x([0-9a-f]+)", line)
        if not m:
            continue
        addr = int(m.group(2), 16)
        i = bisect.bisect_right(starts, addr) - 1
        if i < 0 or addr >= entries[i][0] + entries[i][1]:
            continue  # not compiled plugin code (a trampoline of the host's)
        name = re.sub(r"^wasm\[\d+\]::function\[\d+\]::", "", entries[i][2])
        name = re.sub(r"17h[0-9a-f]{16}E$", "", name)
        costs[name] = costs.get(name, 0) + int(m.group(1).replace(",", ""))
    return costs


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    many_cg, many_map, one_cg, one_map, events = sys.argv[1:]
    many = guest_costs(many_cg, many_map)
    one = guest_costs(one_cg, one_map)
    events = int(events)
    per_event = {k: (many.get(k, 0) - one.get(k, 0)) / events for k in many.keys() | one.keys()}
    print(f"plugins' code: {sum(per_event.values()):.0f} instructions per event")
    for name, n in sorted(per_event.items(), key=lambda kv: -kv[1])[:40]:
        if n >= 100:
            print(f"{n:9.0f}  {name[:120]}")


if __name__ == "__main__":
    main()
