"""Small helpers for driving Dendrite Studio through the accessibility tree (pyatspi).

Everything a test does goes through what a screen reader sees: buttons are
pressed by their accessible name, text is read from labels, values are set on
spin buttons through the AT-SPI Value interface.
"""
import subprocess
import time

import pyatspi
from gi.repository import Atspi

# AT-SPI waits 0.8 s for an application's reply by default; an app that is
# training on a loaded machine can take longer to answer, and the call then
# fails with "Did not receive a reply". Wait up to 10 s (30 s at start-up).
Atspi.set_timeout(10000, 30000)


class Timeout(Exception):
    pass


def find_app(name, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            desktop = pyatspi.Registry.getDesktop(0)
            for i in range(desktop.childCount):
                app = desktop.getChildAtIndex(i)
                if app is not None and app.name == name:
                    return app
        except Exception:  # an application that did not answer in time: ask again
            pass
        time.sleep(0.2)
    raise Timeout(f"no application called {name!r} on the accessibility bus")


def nodes(root, max_depth=80):
    """Every node below root, depth first; showing only."""
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if node is None:
            continue
        yield node
        if depth >= max_depth:
            continue
        try:
            n = node.childCount
        except Exception:
            continue
        for i in reversed(range(n)):
            try:
                stack.append((node.getChildAtIndex(i), depth + 1))
            except Exception:
                pass


def showing(node):
    try:
        return node.getState().contains(pyatspi.STATE_VISIBLE)
    except Exception:
        return False


def find(root, role=None, name=None, prefix=None, contains=None, visible=True, timeout=20,
         match=None):
    """The first node matching (match: a predicate on the name), polling until timeout."""
    end = time.time() + timeout
    while True:
        for n in nodes(root):
            try:
                if role is not None and n.getRoleName() != role:
                    continue
                nm = n.name or ""
            except Exception:
                continue
            if name is not None and nm != name:
                continue
            if prefix is not None and not nm.startswith(prefix):
                continue
            if contains is not None and contains not in nm:
                continue
            if match is not None and not match(nm):
                continue
            if visible and not showing(n):
                continue
            return n
        if time.time() > end:
            raise Timeout(f"nothing like role={role} name={name} prefix={prefix} contains={contains}")
        time.sleep(0.3)


def click(node):
    action = node.queryAction()
    for i in range(action.nActions):
        if action.getName(i) in ("click", "activate", "toggle", "press"):
            return action.doAction(i)
    return action.doAction(0)


def press(root, name=None, prefix=None, timeout=20):
    node = find(root, role="push button", name=name, prefix=prefix, timeout=timeout)
    click(node)
    return node


def labels(root):
    out = []
    for n in nodes(root):
        try:
            if n.getRoleName() == "label" and showing(n):
                out.append(n.name or "")
        except Exception:
            pass
    return out


def wait_label(root, predicate, timeout=60, what="a label"):
    end = time.time() + timeout
    while time.time() < end:
        for text in labels(root):
            if predicate(text):
                return text
        time.sleep(0.5)
    raise Timeout(f"waited {timeout} s for {what}")


def screenshot(path, window=None):
    """Saves the screen, or only `window` (an accessible frame) when given. The pointer
    moves to the screen's corner first so no tooltip covers the picture."""
    pyatspi.Registry.generateMouseEvent(4000, 4000, pyatspi.MOUSE_ABS)
    time.sleep(0.8)
    cmd = ["import", "-window", "root"]
    if window is not None:
        try:
            x, y, w, h = window.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
            if w > 0 and h > 0:
                cmd += ["-crop", f"{w}x{h}+{max(x, 0)}+{max(y, 0)}", "+repage"]
        except Exception:  # no extents: the whole screen
            pass
    subprocess.run(cmd + [path], check=True)
