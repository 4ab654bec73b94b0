#!/usr/bin/python3
"""Checks the Flatpak manifest without building it (the GNOME runtime needs the
network): valid JSON, the right app id, command, runtime and modules.
Usage: check-manifest.py MANIFEST APP_ID COMMAND"""
import json
import sys

path, app_id, command = sys.argv[1:4]
with open(path) as f:
    m = json.load(f)
problems = []
if m.get("app-id") != app_id:
    problems.append(f"app-id is {m.get('app-id')!r}, not {app_id!r}")
if m.get("command") != command:
    problems.append(f"command is {m.get('command')!r}, not {command!r}")
if m.get("runtime") != "org.gnome.Platform" or m.get("runtime-version") != "43":
    problems.append("the runtime must be org.gnome.Platform 43 (GTK 4.8, libadwaita 1.2)")
if m.get("sdk") != "org.gnome.Sdk":
    problems.append("the sdk must be org.gnome.Sdk")
names = [mod.get("name") for mod in m.get("modules", []) if isinstance(mod, dict)]
if "openblas" not in names:
    problems.append("no openblas module")
if not names or names[-1] != "dendrite-studio":
    problems.append("the app must be the last module")
else:
    app = m["modules"][-1]
    if app.get("buildsystem") != "meson":
        problems.append("the app module must build with meson")
for mod in m.get("modules", []):
    for src in mod.get("sources", []):
        if src.get("type") == "archive" and not src.get("sha256"):
            problems.append(f"{mod.get('name')}: an archive source needs a sha256")
for p in problems:
    print("not ok:", p)
print("1..1")
print(("not ok" if problems else "ok") + " 1 - flatpak manifest " + path)
sys.exit(1 if problems else 0)
