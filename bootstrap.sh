#!/bin/sh
# Install what is missing on Debian 12 and build chainkeeper in this folder.
# Sourced by run-demo.sh and run-tests.sh; also runnable by itself.
set -eu

# Debian packages: build, tests, demo.
CK_PACKAGES="build-essential autoconf automake pkg-config libev-dev
libyaml-dev libjansson-dev libcurl4-openssl-dev libproc2-dev libcmocka-dev jq python3 procps
util-linux passwd mandoc litecoind curl
libmicrohttpd-dev prometheus influxdb chromium
clang libclang-rt-14-dev valgrind python3-hypothesis"

ck_install() {
	missing=""
	for p in $CK_PACKAGES; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "bootstrap: installing:$missing"
	if [ "$(id -u)" -eq 0 ]; then
		sudo=""
	elif command -v sudo >/dev/null 2>&1; then
		sudo="sudo"
	else
		echo "bootstrap: need root or sudo to install:$missing" >&2
		exit 1
	fi
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $missing >/dev/null
}

ck_build() {
	if [ ! -x configure ] || [ configure.ac -nt configure ] ||
	    [ Makefile.am -nt configure ]; then
		autoreconf -fi
	fi
	if [ ! -f Makefile ] || [ configure -nt Makefile ]; then
		./configure --enable-werror ${CK_CONFIGURE_FLAGS:-}
	fi
	make -j"$(nproc)"
}

if [ "$(basename -- "$0")" = "bootstrap.sh" ]; then
	cd -- "$(dirname -- "$0")"
	ck_install
	ck_build
fi
