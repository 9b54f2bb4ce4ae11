#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Turn a fresh Raspberry Pi OS Lite (64-bit, Bookworm) into a border-gate kiosk;
# run it again to upgrade (it changes only what differs, and says so).
#
#   sudo KIT/deploy/raspberry-pi/provision.sh --bundle lb-02.bundle.tar [OPTIONS]
#
#   --bundle PATH  the kiosk's enrolment bundle (`bgk kiosk enroll ... -o -` on the
#                  server): a .tar, the dashboard's .zip, or a folder. It holds the
#                  kiosk's MQTT password: once in /etc/bgk (root:bgk 0640) the copy
#                  given here is deleted. Not needed again to upgrade.
#   --keep-bundle  do not delete it
#   --wheels DIR   the software (default: the kit's wheels/, made by scripts/wheelhouse
#                  --for pi): nothing is downloaded, the Pi needs no internet
#   --source DIR   install from this project folder instead (needs internet for pip)
#   --no-ui        the agent only (a kiosk whose screen is not fitted yet)
#   --root DIR     install under DIR instead of / (a scratch root: tests)
#   --dry-run      print every action, change nothing
#
# It keeps the installed pack and the kiosk's state (/var/lib/bgk).
set -euo pipefail

# shellcheck disable=SC2034  # die's prefix (deploy/lib/ensure.sh)
PROG=provision
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kit="$(cd "$here/../.." && pwd)"
# shellcheck source=../lib/ensure.sh
source "$here/../lib/ensure.sh"

bundle="" keep=0 wheels="" source_dir="" ui=1 ROOT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bundle) bundle="${2:-}"; shift 2 ;;
        --keep-bundle) keep=1; shift ;;
        --wheels) wheels="${2:-}"; shift 2 ;;
        --source) source_dir="${2:-}"; shift 2 ;;
        --no-ui) ui=0; shift ;;
        --root) ROOT="$(cd "${2:?}" && pwd)"; shift 2 ;;
        --dry-run) DRY=1; shift ;;
        -h|--help) awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

PREFIX="$ROOT/opt/bgk" CONF="$ROOT/etc/bgk" UNITS="$ROOT/etc/systemd/system"
POLKIT="$ROOT/etc/polkit-1/rules.d"
if [ -z "$bundle" ] && [ ! -f "$CONF/kiosk.toml" ]; then
    die "--bundle PATH is required the first time: the bundle \`bgk kiosk enroll\` made for this kiosk"
fi
[ -z "$bundle" ] || [ -e "$bundle" ] || die "no bundle at $bundle: copy it from the server first"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# the bundle's files, wherever they came in
files=""
if [ -n "$bundle" ]; then
    case "$bundle" in
        *.tar|*.tar.gz) mkdir "$work/b" && tar -xf "$bundle" -C "$work/b" --no-same-owner ;;
        *.zip) mkdir "$work/b" && /usr/bin/python3 -m zipfile -e "$bundle" "$work/b" ;;
        *) [ -d "$bundle" ] || die "$bundle is not a folder, a .tar or a .zip"; files="$bundle" ;;
    esac
    if [ -z "$files" ]; then
        files="$(dirname "$(find "$work/b" -name kiosk.toml -print -quit)")"
    fi
    [ -f "$files/kiosk.toml" ] || die "$bundle has no kiosk.toml: is it an enrolment bundle?"
fi

if [ -z "$wheels" ] && [ -z "$source_dir" ]; then
    if [ -d "$kit/wheels" ]; then
        wheels="$kit/wheels"
    else
        die "no software next to this script: copy a kit (scripts/wheelhouse --for pi -o KIT) and run KIT/deploy/raspberry-pi/provision.sh, or pass --wheels DIR or --source DIR"
    fi
fi
if [ "$DRY" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run it as root (sudo), or with --dry-run to see what it does"
fi
echo "== Debian packages"
ensure_packages python3 python3-venv ca-certificates \
    libmtdev1 libgles2 libegl1 libgbm1 libdrm2 libinput10 fonts-noto-core fonts-noto-cjk

echo "== user bgk (display, GPU, touch panel)"
for group in video render input; do
    getent group "$group" >/dev/null || act groupadd --system "$group"
done
ensure_user bgk /var/lib/bgk video,render,input

echo "== software in $PREFIX/venv"
restart=0
ensure_dir "$PREFIX" root root 0755
install_software "$PREFIX/venv" kiosk "$wheels" "$source_dir" "$work/wheels"
[ "$CHANGED" = 1 ] && restart=1
ensure_file "$kit/README.md" "$PREFIX/README.md" root root 0644

echo "== enrolment bundle in $CONF (readable by bgk only: it holds the MQTT password)"
ensure_dir "$CONF" root bgk 0750
if [ -n "$files" ]; then
    for f in "$files"/*; do
        [ -f "$f" ] || continue
        ensure_file "$f" "$CONF/$(basename "$f")" root bgk 0640
        [ "$CHANGED" = 1 ] && restart=1
    done
fi

echo "== services"
relocate() { sed -e "s#/opt/bgk#$PREFIX#g" -e "s#/etc/bgk/#$CONF/#g" "$1"; }
daemon_reload=0
for unit in bgk-kiosk-agent.service bgk-kiosk-ui.service; do
    relocate "$here/../systemd/$unit" >"$work/$unit"
    ensure_file "$work/$unit" "$UNITS/$unit" root root 0644
    [ "$CHANGED" = 1 ] && { daemon_reload=1; restart=1; }
done
ensure_file "$here/../polkit/50-bgk-kiosk-reboot.rules" "$POLKIT/50-bgk-kiosk-reboot.rules" root root 0644
[ "$daemon_reload" = 1 ] && act systemctl daemon-reload
wanted=(bgk-kiosk-agent.service)
if [ "$ui" = 1 ]; then
    wanted+=(bgk-kiosk-ui.service)
elif systemctl is-enabled -q bgk-kiosk-ui.service 2>/dev/null; then
    act systemctl disable --now bgk-kiosk-ui.service
fi
for unit in "${wanted[@]}"; do
    systemctl is-enabled -q "$unit" 2>/dev/null || act systemctl enable "$unit"
    if ! systemctl is-active -q "$unit" 2>/dev/null; then
        act systemctl start "$unit"
    elif [ "$restart" = 1 ]; then
        act systemctl restart "$unit"
    fi
done

echo "== screen: no console blanking"
cmdline="$ROOT/boot/firmware/cmdline.txt"
[ -f "$cmdline" ] || cmdline="$ROOT/boot/cmdline.txt"
if [ -f "$cmdline" ] && ! grep -q 'consoleblank=0' "$cmdline"; then
    act sed -i '1 s/$/ consoleblank=0/' "$cmdline"
    echo "   (takes effect at the next boot)"
fi

if [ -n "$bundle" ] && [ "$keep" = 0 ]; then
    echo "== the copied bundle holds the kiosk's password: deleted now that it is in $CONF"
    act rm -rf "$bundle"
fi

echo
if [ "$DRY" = 1 ]; then
    echo "$CHANGES change(s) would be made (dry run: nothing changed)"
elif [ "$CHANGES" = 0 ]; then
    echo "nothing to change: this kiosk is as provision.sh makes it"
else
    echo "$CHANGES change(s) made"
fi
echo "check it: sudo -u bgk $PREFIX/venv/bin/bgk kiosk doctor --config $CONF/kiosk.toml"
