#!/bin/sh
# Runs the end-to-end test inside its own X server, D-Bus session and AT-SPI bus:
#   tests/gui/run-e2e.sh BUILD_DIR [SCREENSHOT_DIR]
# Skips (exit 77) when Xvfb, dbus-run-session, at-spi or pyatspi are missing.
set -u
build=$(cd "$1" && pwd)
shots=${2:-$build/tests/gui/screenshots}
src=$(cd "$(dirname "$0")/../.." && pwd)
for p in xvfb-run dbus-run-session import; do
    command -v $p >/dev/null 2>&1 || { echo "1..0 # SKIP $p is not installed"; exit 77; }
done
launcher=/usr/libexec/at-spi-bus-launcher
[ -x $launcher ] || { echo "1..0 # SKIP at-spi2-core is not installed"; exit 77; }
/usr/bin/python3 -c 'import pyatspi' 2>/dev/null || { echo "1..0 # SKIP python3-pyatspi is not installed"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/config/glib-2.0/settings" "$tmp/home" "$shots"
cat >"$tmp/config/glib-2.0/settings/keyfile" <<EOK
[org/dendrite/Studio]
output-folder='$tmp/runs'
export-folder='$tmp/export'
threads=2
EOK
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/config" GSETTINGS_BACKEND=keyfile
export DN_RUNS_DIR="$tmp/runs" DN_EXPORT_DIR="$tmp/export" DN_SCREENSHOT_DIR="$shots"
# Xvfb has no GPU: GTK's GL renderer would run on llvmpipe and take the main
# thread for every frame; cairo is the fast software path.
export NO_AT_BRIDGE=0 GTK_A11Y=atspi GDK_BACKEND=x11 LC_ALL=C.UTF-8 GSK_RENDERER=cairo
export DN_DATA_DIR="$src/data"
xvfb-run -a -s "-screen 0 1400x900x24" dbus-run-session -- sh -c "
    $launcher --launch-immediately >'$tmp/atspi.log' 2>&1 &
    sleep 1
    '$build/src/app/dendrite-studio' >'$tmp/app.log' 2>&1 &
    app=\$!
    /usr/bin/python3 '$src/tests/e2e/drive-app.py'
    status=\$?
    kill \$app 2>/dev/null
    exit \$status
"
status=$?
if [ $status -ne 0 ]; then
    echo "# the application's output:"
    sed 's/^/# /' "$tmp/app.log" | tail -40
fi
exit $status
