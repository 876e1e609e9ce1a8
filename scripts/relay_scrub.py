"""Runs Sentry Relay's PII scrubber over NDJSON events, for `cargo bench --bench relay`.

Usage: python3 relay_scrub.py EVENTS.ndjson OUTPUT.ndjson SECONDS

Scrubs every event with `pii_strip_event` under Sentry's default data-scrubbing
settings converted by `convert_datascrubbing_config`, writes the scrubbed
events (one per line, in order) to OUTPUT, then scrubs the events again in a
loop for at least SECONDS and prints {"events": N, "seconds": S} as JSON.
The events are serialized once beforehand and the results are not parsed in
the timed loop, so the figure is Relay's own work plus its FFI call.
"""

import json
import sys
import time

from sentry_relay.processing import convert_datascrubbing_config, pii_strip_event

# Sentry's defaults for a new project: "Data Scrubber" and "Use Default
# Scrubbers" on, "Prevent Storing of IP Addresses" on, no extra fields.
DEFAULTS = {
    "scrubData": True,
    "scrubDefaults": True,
    "scrubIpAddresses": True,
    "sensitiveFields": [],
    "excludeFields": [],
}


def main():
    source, output, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(source) as f:
        events = [line.strip() for line in f if line.strip()]
    config = json.dumps(convert_datascrubbing_config(DEFAULTS))
    same = lambda text: text  # noqa: E731 - already JSON; keep the result as text
    with open(output, "w") as out:
        for e in events:
            out.write(pii_strip_event(config, e, json_dumps=same, json_loads=same) + "\n")
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for e in events:
            pii_strip_event(config, e, json_dumps=same, json_loads=same)
        done += len(events)
    print(json.dumps({"events": done, "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
