#!/bin/sh
# Runs a GUI test program in its own X server and D-Bus session:
#   run-under-x.sh PROGRAM [ARGS...]
# Uses the display it is given when there is one; skips (77) without one and
# without xvfb-run.
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || [ -n "${DN_FORCE_XVFB:-}" ]; then
    if ! command -v xvfb-run >/dev/null 2>&1 || ! command -v dbus-run-session >/dev/null 2>&1; then
        echo "1..0 # SKIP no display, and xvfb-run or dbus-run-session is not installed"
        exit 77
    fi
    # These tests read the widget tree directly, not over AT-SPI: GTK's in-process
    # accessibility backend keeps the registry daemon (which writes to stdout, into
    # the TAP stream) from starting.
    GTK_A11Y=${GTK_A11Y:-test} exec xvfb-run -a -s "-screen 0 1400x900x24" dbus-run-session -- "$@"
fi
exec "$@"
