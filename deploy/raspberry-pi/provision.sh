#!/usr/bin/env bash
# Turn a fresh Raspberry Pi OS Lite (64-bit, Bookworm) into a border-gate kiosk.
#
#   sudo deploy/raspberry-pi/provision.sh --bundle DIR [--source DIR] [--no-ui] [--dry-run]
#
#   --bundle DIR   the kiosk's enrolment bundle (`bgk kiosk enroll ... -o DIR` on
#                  the server): kiosk.toml, the TUF root, MQTT password and CA
#   --source DIR   this project's folder to install from (default: the checkout
#                  this script is in); a wheel file (bgk-*.whl) works too
#   --no-ui        the agent only (a kiosk whose screen is not fitted yet)
#   --dry-run      print what would be done, change nothing
#
# Safe to run again: it upgrades the software, replaces the bundle, and keeps
# the installed pack and the kiosk's state (/var/lib/bgk).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_dir="$(cd "$here/../.." && pwd)"
bundle=""
ui=1
dry=0
PREFIX=/opt/bgk
CONF=/etc/bgk
UNITS=/etc/systemd/system

die() { echo "provision: $*" >&2; exit 1; }
run() {
    if [ "$dry" = 1 ]; then echo "would run: $*"; else "$@"; fi
}

while [ $# -gt 0 ]; do
    case "$1" in
        --bundle) bundle="${2:-}"; shift 2 ;;
        --source) source_dir="${2:-}"; shift 2 ;;
        --no-ui) ui=0; shift ;;
        --dry-run) dry=1; shift ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

[ -n "$bundle" ] || die "--bundle DIR is required: the folder \`bgk kiosk enroll\` wrote for this kiosk"
[ -f "$bundle/kiosk.toml" ] || die "$bundle has no kiosk.toml: is it an enrolment bundle?"
[ -e "$source_dir" ] || die "no project at $source_dir: pass --source DIR"
if [ "$dry" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run it as root (sudo), or with --dry-run to see what it does"
fi

echo "== Debian packages"
run apt-get update -q
run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    python3 python3-venv python3-dev ca-certificates \
    libmtdev1 libgles2 libegl1 libgbm1 libdrm2 libinput10 \
    fonts-noto-core fonts-noto-cjk

echo "== user bgk (display, GPU, touch panel)"
if ! id bgk >/dev/null 2>&1; then
    run useradd --system --home-dir /var/lib/bgk --no-create-home --shell /usr/sbin/nologin bgk
fi
run usermod -a -G video,render,input bgk

echo "== software in $PREFIX/venv"
run install -d -m 0755 "$PREFIX"
if [ ! -x "$PREFIX/venv/bin/python" ]; then
    run python3 -m venv "$PREFIX/venv"
fi
run "$PREFIX/venv/bin/pip" install -q --upgrade pip
if [ -f "$source_dir/requirements/kiosk.lock" ]; then
    # the locked versions, every file checked against its hash (scripts/lock)
    run "$PREFIX/venv/bin/pip" install -q --require-hashes -r "$source_dir/requirements/kiosk.lock"
    run "$PREFIX/venv/bin/pip" install -q --no-deps --upgrade "$source_dir"
    [ -f "$source_dir/README.md" ] && run install -m 0644 "$source_dir/README.md" "$PREFIX/README.md"
elif [ -d "$source_dir" ]; then
    run "$PREFIX/venv/bin/pip" install -q --upgrade "$source_dir[kiosk]"
    [ -f "$source_dir/README.md" ] && run install -m 0644 "$source_dir/README.md" "$PREFIX/README.md"
else
    run "$PREFIX/venv/bin/pip" install -q --upgrade "${source_dir}[kiosk]"
fi

echo "== enrolment bundle in $CONF (readable by bgk only: it holds the MQTT password)"
run install -d -m 0750 -o root -g bgk "$CONF"
for f in "$bundle"/*; do
    [ -f "$f" ] || continue
    run install -m 0640 -o root -g bgk "$f" "$CONF/$(basename "$f")"
done
if [ -d "$bundle/mqtt" ]; then
    run install -d -m 0750 -o root -g bgk "$CONF/mqtt"
    for f in "$bundle"/mqtt/*; do
        [ -f "$f" ] && run install -m 0640 -o root -g bgk "$f" "$CONF/mqtt/$(basename "$f")"
    done
fi

echo "== services"
run install -m 0644 "$here/../systemd/bgk-kiosk-agent.service" "$UNITS/"
run install -m 0644 "$here/../systemd/bgk-kiosk-ui.service" "$UNITS/"
run install -d -m 0755 /etc/polkit-1/rules.d
run install -m 0644 "$here/../polkit/50-bgk-kiosk-reboot.rules" /etc/polkit-1/rules.d/
run systemctl daemon-reload
run systemctl enable --now bgk-kiosk-agent.service
if [ "$ui" = 1 ]; then
    run systemctl enable --now bgk-kiosk-ui.service
else
    run systemctl disable --now bgk-kiosk-ui.service || true
fi

echo "== screen: no console blanking"
cmdline=/boot/firmware/cmdline.txt
[ -f "$cmdline" ] || cmdline=/boot/cmdline.txt
if [ -f "$cmdline" ] && ! grep -q 'consoleblank=0' "$cmdline"; then
    run sed -i '1 s/$/ consoleblank=0/' "$cmdline"
    echo "   (takes effect at the next boot)"
fi

echo "== done"
if [ "$dry" = 0 ]; then
    sudo -u bgk "$PREFIX/venv/bin/bgk" kiosk status --config "$CONF/kiosk.toml" || true
fi
echo "Follow it with: journalctl -fu bgk-kiosk-agent -u bgk-kiosk-ui"
