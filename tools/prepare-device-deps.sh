#!/bin/sh
# prepare-device-deps.sh [DIR]: fills DIR (default .device-deps, git-ignored) with what
# tests/cuda/device-check.sh needs to build the project on a GPU machine that has only the
# CUDA toolkit, a C compiler and Python (with meson, ninja and PyTorch) and no network:
# the .deb files of the build's libraries and their dependencies, from this machine's
# apt sources (apt-get download; nothing is installed here). The C library, the compiler
# and its runtime are left out: every such image has them.
set -eu
dir=${1:-.device-deps}
mkdir -p "$dir/debs"
roots="libglib2.0-dev libjson-glib-dev libopenblas-dev zlib1g-dev libcairo2-dev pkgconf"
# the dependency closure, without virtual packages and without what any image has
skip='^(libc6|libc6-dev|libgcc-s1|libstdc\+\+6|gcc-.*-base|libc-dev-bin|linux-libc-dev|libcrypt1|libcrypt-dev|debconf|dpkg|perl-base|tar|coreutils|base-files|libnsl.*|libtirpc.*|rpcsvc-proto|install-info|sensible-utils|lsb-base|init-system-helpers|python3.*|libpython3.*|libmpdec3|media-types|tzdata|readline-common|libreadline8|libsqlite3-0|netbase|libncursesw6|libtinfo6|mime-support|ucf|fonts-.*|gsfonts|perl|perl-modules-.*|libperl.*|libssl3|libopenblas0-openmp|libopenblas0-serial|libopenblas-openmp-dev|libopenblas-serial-dev|libopenblas64.*|libgdbm.*|libdb5.3)$'
pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
         --no-replaces --no-enhances $roots 2>/dev/null |
       grep -v '^ ' | grep -v '^<' | sort -u | grep -Ev "$skip")
cd "$dir/debs"
# shellcheck disable=SC2086
apt-get download $pkgs >/dev/null
echo "$(ls | wc -l) packages, $(du -sh . | cut -f1) in $dir/debs"
