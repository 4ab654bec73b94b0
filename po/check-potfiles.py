#!/usr/bin/python3
"""Every source file with translatable strings is in POTFILES.in, and every file
listed there exists and has some. Usage: check-potfiles.py SOURCE_ROOT"""
import os
import re
import sys

root = sys.argv[1]
listed = []
with open(os.path.join(root, "po", "POTFILES.in")) as f:
    for line in f:
        line = line.strip()
        if line and not line.startswith("#"):
            listed.append(line)

C_MARK = re.compile(r'\b(?:_|N_|C_|NC_|ngettext|g_dngettext)\s*\(\s*"')
UI_MARK = re.compile(r'translatable="yes"')
DATA_MARK = re.compile(r"<(?:name|summary|description|p|li|caption)\b|^(?:Name|Comment|GenericName|Keywords)=",
                       re.M)


def has_strings(path):
    with open(os.path.join(root, path), encoding="utf-8") as f:
        text = f.read()
    if path.endswith((".c", ".h")):
        return bool(C_MARK.search(text))
    if path.endswith(".ui"):
        return bool(UI_MARK.search(text))
    return bool(DATA_MARK.search(text))


candidates = []
for folder in ("src/app", "ui"):
    for name in sorted(os.listdir(os.path.join(root, folder))):
        if name.endswith((".c", ".h", ".ui")):
            candidates.append(f"{folder}/{name}")
for name in sorted(os.listdir(os.path.join(root, "data"))):
    if name.endswith((".desktop.in", ".metainfo.xml.in", ".gschema.xml")):
        candidates.append(f"data/{name}")

problems = []
for path in candidates:
    if has_strings(path) and path not in listed:
        problems.append(f"{path} has translatable strings but is not in po/POTFILES.in")
for path in listed:
    if not os.path.exists(os.path.join(root, path)):
        problems.append(f"po/POTFILES.in lists {path}, which does not exist")
    elif not has_strings(path):
        problems.append(f"po/POTFILES.in lists {path}, which has no translatable strings")
print("1..1")
for p in problems:
    print("# " + p)
print(("not ok" if problems else "ok") + " 1 - POTFILES.in is complete")
sys.exit(1 if problems else 0)
