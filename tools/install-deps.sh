#!/bin/sh
# Installs the Debian 12 packages that building, running and testing need.
# Run as root (or with sudo available). Does nothing when all are present.
set -e
PACKAGES="gcc pkg-config meson ninja-build libglib2.0-dev libjson-glib-dev libopenblas-dev
 libcairo2-dev zlib1g-dev dataset-fashion-mnist python3
 libgtk-4-dev libadwaita-1-dev gettext desktop-file-utils appstream
 xvfb xauth dbus-x11 at-spi2-core python3-pyatspi imagemagick
 libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends $missing
