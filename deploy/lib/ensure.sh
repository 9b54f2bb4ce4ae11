# shellcheck shell=bash disable=SC2034  # CHANGES, CHANGED: read by the scripts that source this
# Idempotent steps for deploy/server/install.sh and deploy/raspberry-pi/provision.sh
# (sourced, not run). Each `ensure_*` looks first and acts only when something
# differs, printing "+ what it did" (or "would: what" with DRY=1); CHANGES counts
# the actions, CHANGED is 1 when the last ensure_* acted. Read-only checks run
# even in a dry run.

DRY="${DRY:-0}"
CHANGES=0
CHANGED=0

die() { echo "${PROG:-install}: $*" >&2; exit 1; }

_announce() {
    CHANGES=$((CHANGES + 1))
    CHANGED=1
    if [ "$DRY" = 1 ]; then echo "would: $*"; else echo "+ $*"; fi
}

# act CMD...: a command that changes the machine
act() {
    _announce "$*"
    [ "$DRY" = 1 ] || "$@"
}

# act_from FILE CMD...: the same, with the command's stdin from FILE
act_from() {
    local file=$1
    shift
    _announce "$* < $file"
    [ "$DRY" = 1 ] || "$@" <"$file"
}

_stat() { stat -c '%U:%G %a' "$1"; }

# ensure_dir PATH OWNER GROUP MODE (mode in octal, e.g. 0750 or 2750)
ensure_dir() {
    local path=$1 owner=$2 group=$3 mode=$4 want
    CHANGED=0
    want="$owner:$group $(printf '%o' "$((8#$mode))")"
    if [ ! -d "$path" ]; then
        act install -d -o "$owner" -g "$group" -m "$mode" "$path"
    elif [ "$(_stat "$path")" != "$want" ]; then
        act chown "$owner:$group" "$path"
        act chmod "$mode" "$path"
    fi
}

# ensure_file SRC DEST OWNER GROUP MODE: DEST holds SRC's bytes, owner and mode
ensure_file() {
    local src=$1 dest=$2 owner=$3 group=$4 mode=$5 want
    CHANGED=0
    want="$owner:$group $(printf '%o' "$((8#$mode))")"
    if [ ! -f "$dest" ] || ! cmp -s "$src" "$dest"; then
        act install -D -o "$owner" -g "$group" -m "$mode" "$src" "$dest"
    elif [ "$(_stat "$dest")" != "$want" ]; then
        act chown "$owner:$group" "$dest"
        act chmod "$mode" "$dest"
    fi
}

# ensure_link TARGET LINK
ensure_link() {
    CHANGED=0
    if [ "$(readlink "$2" 2>/dev/null)" != "$1" ]; then
        act ln -sfn "$1" "$2"
    fi
}

# ensure_packages PKG...: install the Debian packages that are missing
ensure_packages() {
    local missing=() pkg
    CHANGED=0
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        act apt-get update -q
        act env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            "${missing[@]}"
    fi
}

# ensure_user NAME HOME [GROUPS]: a system user without login (and its groups)
ensure_user() {
    local name=$1 home=$2 groups=${3:-} group
    CHANGED=0
    if ! id "$name" >/dev/null 2>&1; then
        act useradd --system --home-dir "$home" --no-create-home --shell /usr/sbin/nologin "$name"
    fi
    for group in ${groups//,/ }; do
        if ! id -nG "$name" 2>/dev/null | tr ' ' '\n' | grep -qx "$group"; then
            act usermod -a -G "$group" "$name"
        fi
    done
}

# wheel_fingerprint WHEEL: the SHA-256 of the wheel's RECORD (every file's hash:
# the same content gives the same fingerprint, whatever the zip's timestamps)
wheel_fingerprint() {
    /usr/bin/python3 - "$1" <<'PY'
import hashlib, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as whl:
    record = next(n for n in whl.namelist() if n.endswith(".dist-info/RECORD"))
    print(hashlib.sha256(whl.read(record)).hexdigest())
PY
}

# ensure_software VENV WHEELS EXTRA: the newest bgk wheel of WHEELS (and its
# dependencies, from WHEELS only: no internet) in the virtualenv VENV
ensure_software() {
    local venv=$1 wheels=$2 extra=$3 wheel stamp want
    CHANGED=0
    wheel="$(find "$wheels" -maxdepth 1 -name 'bgk-*.whl' | sort -V | tail -n 1)"
    [ -n "$wheel" ] || die "no bgk wheel in $wheels: build the kit with scripts/wheelhouse"
    if [ ! -x "$venv/bin/python" ]; then
        act /usr/bin/python3 -m venv "$venv"
    fi
    stamp="$venv/bgk-wheel.sha256"
    want="$(wheel_fingerprint "$wheel")  $(basename "$wheel") [$extra]"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        if [ -f "$wheels/requirements.lock" ]; then
            # the locked versions, every file checked against its hash (scripts/lock)
            act "$venv/bin/pip" install -q --no-index --find-links "$wheels" --require-hashes \
                -r "$wheels/requirements.lock"
            act "$venv/bin/pip" install -q --no-index --force-reinstall --no-deps "$wheel"
        else
            act "$venv/bin/pip" install -q --no-index --find-links "$wheels" --force-reinstall \
                --no-deps "$wheel"
            act "$venv/bin/pip" install -q --no-index --find-links "$wheels" "${wheel}[$extra]"
        fi
        if [ "$DRY" = 0 ]; then
            echo "$want" >"$stamp"
        fi
        CHANGED=1
    fi
}

# fetch_software SOURCE EXTRA DIR: the wheels of a project folder and of its
# dependencies, downloaded (needs the internet; a kit does not)
fetch_software() {
    local python=/usr/bin/python3
    "$python" -m pip --version >/dev/null 2>&1 || python="$(command -v python3)"
    "$python" -m pip wheel -q --no-deps -w "$3" "$1" \
        || die "cannot build bgk from $1 (pip needs the internet for its build tools): use a kit"
    if [ -f "$1/requirements/$2.lock" ]; then
        "$python" -m pip download -q -d "$3" --require-hashes -r "$1/requirements/$2.lock" \
            || die "cannot download the dependencies (no internet?): use a kit (--wheels)"
        cp "$1/requirements/$2.lock" "$3/requirements.lock"
    else
        "$python" -m pip download -q -d "$3" "$(find "$3" -name 'bgk-*.whl')[$2]" \
            || die "cannot download the dependencies (no internet?): use a kit (--wheels)"
    fi
}

# install_software VENV EXTRA WHEELS SOURCE SCRATCH: the kit's WHEELS, or the wheels
# built and downloaded from a project folder SOURCE into SCRATCH (needs the internet)
install_software() {
    local venv=$1 extra=$2 wheels=$3 source=$4 scratch=$5
    CHANGED=0
    if [ -n "$source" ] && [ "$DRY" = 1 ]; then
        echo "would: build bgk from $source and install it with its dependencies (from the internet)"
        CHANGES=$((CHANGES + 1))
        CHANGED=1
        return 0
    fi
    if [ -n "$source" ]; then
        fetch_software "$source" "$extra" "$scratch"
        wheels="$scratch"
    fi
    ensure_software "$venv" "$wheels" "$extra"
}
