#!/usr/bin/env python3
"""Counts test cases in meson's testlog.json files: every TAP line of a TAP
test, or one case per program for the others. Prints "P F S" (passed, failed,
skipped)."""
import json
import re
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except OSError:
        continue
    for line in lines:
        test = json.loads(line)
        tap = [l for l in (test.get("stdout") or "").splitlines()
               if re.match(r"(not )?ok\b", l)]
        if not tap:
            result = test["result"]
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
            continue
        for l in tap:
            if re.search(r"#\s*skip", l, re.I):
                skipped += 1
            elif l.startswith("ok"):
                passed += 1
            else:
                failed += 1
        if test["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and not any(
                l.startswith("not ok") for l in tap):
            failed += 1  # crashed or timed out after its last TAP line
print(passed, failed, skipped)
