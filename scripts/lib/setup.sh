# Shared set-up for scripts/demo, scripts/test and scripts/check (sourced, not run).
# Installs what is missing, quickly does nothing when everything is there:
#   - as root: the Debian packages (mosquitto, xvfb, fonts, chromium, ...)
#   - the virtualenv .venv with this project installed editable, with extras
set -euo pipefail

BGK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$BGK_ROOT/.venv"

# Debian packages the project needs at run time and in its tests.
DEBIAN_PACKAGES=(
  mosquitto                       # the MQTT broker (tests start their own)
  xvfb xauth libgl1-mesa-dri libegl1 libmtdev1   # Kivy in a real window, headless
  fonts-noto-core fonts-noto-cjk  # fonts the pack build subsets (Latin, Lao, Thai, CJK SC)
  fonts-symbola                   # monochrome emoji: the last font of the notices' symbol chain
  chromium                        # dashboard tests (Playwright drives Debian's chromium)
  curl
  nginx-light                     # pack delivery tests and bench serve files with deploy/nginx
  nftables                        # the server's firewall rules are checked with nft -c
  libinput10                      # provision.sh installs it on the Pi (its test checks it is there)
  shellcheck                      # scripts/check: the installers and scripts
  postgresql-client               # bgk server backup/restore with PostgreSQL (pg_dump, pg_restore)
  zbar-tools poppler-utils        # tests read the QR codes (zbarimg) and the leaflet PDFs (pdftotext, pdftoppm)
  faketime gcc libc6-dev          # scripts/test --faketime: the suite under a shifted clock
                                  # (gcc builds lib/faketime_fix.c, a fix for faketime 0.9.10)
  postgresql                      # the scale-out store: tests (scripts/test starts it), scripts/soak
  softhsm2                        # a real PKCS#11 token for the hardware-key signer's tests
  iproute2                        # scripts/soak: kiosks in network namespaces
  ffmpeg                          # bgk pack lint/build: video probing (ffprobe) and transcoding
)

bgk_log() { printf '[setup] %s\n' "$*" >&2; }

bgk_install_debian() {
  command -v dpkg-query >/dev/null 2>&1 || { bgk_log "not a Debian system: install ${DEBIAN_PACKAGES[*]} yourself"; return 0; }
  local missing=() pkg
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    bgk_log "missing Debian packages: ${missing[*]}"
    bgk_log "run as root, or: sudo apt-get install ${missing[*]}"
    return 1
  fi
  bgk_log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Do not start the packages' system services (a system nginx on port 80, a
  # system mosquitto on 1883): the demo and the tests start their own on free
  # ports. policy-rc.d is Debian's switch for that; remove ours afterwards.
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && own_policy=1
  fi
  local status=0
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
  [ "$own_policy" = 1 ] && rm -f "$policy"
  return $status
}

bgk_python() {
  # Prefer python3.11+ found on PATH.
  local py
  for py in python3.13 python3.12 python3.11 python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  bgk_log "Python 3.11 or newer is needed (Debian: apt-get install python3 python3-venv)"
  return 1
}

bgk_install_venv() {
  local extras="${1:-dev}" stamp want lock
  lock="$BGK_ROOT/requirements/$extras.lock"
  if [ ! -x "$VENV/bin/python" ]; then
    bgk_log "creating $VENV"
    "$(bgk_python)" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
  fi
  stamp="$VENV/.bgk-installed-$extras"
  want="$(cat "$BGK_ROOT/pyproject.toml" "$lock" 2>/dev/null | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    if [ -f "$lock" ]; then
      # the exact versions of requirements/<extras>.lock, every file checked by hash
      bgk_log "installing the locked dependencies (requirements/$extras.lock) and the project"
      "$VENV/bin/python" -m pip install -q --require-hashes -r "$lock"
      "$VENV/bin/python" -m pip install -q --no-deps -e "$BGK_ROOT"
      if ! "$VENV/bin/python" -m pip check >/dev/null 2>&1; then
        bgk_log "requirements/$extras.lock is behind pyproject.toml: run scripts/lock (installing from the ranges meanwhile)"
        "$VENV/bin/python" -m pip install -q -e "$BGK_ROOT[$extras]"
      fi
    else
      bgk_log "installing the project and its Python dependencies ($extras)"
      "$VENV/bin/python" -m pip install -q -e "$BGK_ROOT[$extras]"
    fi
    echo "$want" > "$stamp"
  fi
}

# bgk_faketime OFFSET: this shell and everything it starts see a shifted wall
# clock (libfaketime, Debian's faketime). OFFSET is +400d, -2h, or @TIME (read by
# `date -d`, UTC unless it names a zone). LD_PRELOAD is inherited, so pytest and
# every process it starts (bgk commands, Mosquitto, nginx, Xvfb, Chromium) share
# the clock, unless a test hands a child an environment without it. @TIME becomes
# one offset computed here (from the real clock), so processes started later do
# not each restart at TIME: the clock runs on from it. Monotonic clocks are left
# alone: faked, they make Python's timed waits (Event.wait, Lock.acquire) hang;
# lib/faketime_fix.c (built here once, preloaded first) keeps sleeps on them working.
bgk_faketime() {
  local spec="$1" lib target offset fix="$VENV/lib/bgk-faketime-fix.so" src
  src="$BGK_ROOT/scripts/lib/faketime_fix.c"
  lib="$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n1 || true)"
  [ -n "$lib" ] || { bgk_log "libfaketime is missing: apt-get install faketime"; return 2; }
  if [ ! -f "$fix" ] || [ "$src" -nt "$fix" ]; then
    command -v cc >/dev/null 2>&1 || { bgk_log "a C compiler is missing: apt-get install gcc libc6-dev"; return 2; }
    mkdir -p "$(dirname "$fix")"
    cc -shared -fPIC -O2 -Wall -o "$fix.tmp" "$src" -ldl -lpthread && mv "$fix.tmp" "$fix" || return 2
  fi
  case "$spec" in
    @*)
      target="$(date -u -d "${spec#@}" +%s)" || { bgk_log "cannot read the time ${spec#@}"; return 2; }
      offset="$(( target - $(env -u LD_PRELOAD -u FAKETIME date -u +%s) ))"
      if [ "$offset" -ge 0 ]; then FAKETIME="+$offset"; else FAKETIME="$offset"; fi
      ;;
    [+-][0-9]*) FAKETIME="$spec" ;;
    *) bgk_log "--faketime takes +400d, -2h or @YYYY-MM-DD HH:MM:SS, not $spec"; return 2 ;;
  esac
  export FAKETIME FAKETIME_DONT_FAKE_MONOTONIC=1
  case ":${LD_PRELOAD:-}:" in
    *":$lib:"*) ;;
    *) export LD_PRELOAD="$fix:$lib${LD_PRELOAD:+:$LD_PRELOAD}" ;;
  esac
}

bgk_setup() {
  bgk_install_debian
  bgk_install_venv "${1:-dev}"
  export PATH="$VENV/bin:$PATH"
  export PYTHAINLP_READ_ONLY=1
}
