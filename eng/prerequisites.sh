# Sourced by build.sh and test.sh: makes sure the tools they need are there, installing
# Debian/Ubuntu packages when running as root, or saying exactly what to install otherwise.

anemos_require_dotnet() {
    if ! command -v dotnet >/dev/null 2>&1; then
        echo "error ANEMOS0100: the .NET SDK 10 is not installed. Install it (https://learn.microsoft.com/dotnet/core/install/linux), then run this again." >&2
        exit 1
    fi
    major=$(dotnet --version 2>/dev/null | cut -d. -f1)
    if [ -z "$major" ] || [ "$major" -lt 10 ]; then
        echo "error ANEMOS0100: Anemos.Sdk needs the .NET SDK 10 or newer; 'dotnet --version' says $(dotnet --version 2>/dev/null)." >&2
        exit 1
    fi
}

# anemos_require_packages COMMAND:PACKAGE ...
anemos_require_packages() {
    missing=
    for pair in "$@"; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing:$missing"
        anemos_apt_update
        # Install without starting services: the tests start their own sshd on 127.0.0.1, never the system's.
        guard=
        if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=1; fi
        status=0
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 $missing >/dev/null || status=$?
        if [ -n "$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi
        if [ "$status" != 0 ]; then
            echo "error ANEMOS0105: apt-get install$missing failed (exit $status); see apt's messages above, fix them, then run this again." >&2
            exit 1
        fi
    else
        echo "error ANEMOS0104: missing packages:$missing. Install them (sudo apt-get install$missing), then run this again." >&2
        exit 1
    fi
}

# apt's lists are needed for apt-get download (samples/base); fetch them once when they are empty.
anemos_apt_update() {
    [ -n "${anemos_apt_updated:-}" ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -q >/dev/null
        anemos_apt_updated=1
    fi
}

anemos_require_apt_lists() {
    if command -v apt-cache >/dev/null 2>&1 && ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then
            anemos_apt_update
        else
            echo "error ANEMOS0102: apt knows no linux-image-amd64 package, which samples/base needs. Run 'sudo apt-get update', then run this again." >&2
            exit 1
        fi
    fi
}
