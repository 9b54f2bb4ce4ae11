#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The DoIC server on Debian 12, in one command; run it again at any time (an
# upgrade, a changed option): it changes only what differs, and says so.
#
#   sudo deploy/server/install.sh --url https://NAME --keys DIR \
#        (--cert FILE --cert-key FILE [--cert-ca FILE] | --certbot EMAIL) [OPTIONS]
#
#   --url URL          the address kiosks and people use, e.g. https://kiosk.example.vn
#   --keys DIR         the offline keyset (root, targets; deploy/tuf-keys.md), readable
#                      by user bgk; needed to make a new data folder and to restore
#   --restore BACKUP   bring back a backup (bgk server backup) instead of a new data folder
#   --keep-targets     with --restore and no --keys: nothing was published after the backup
#   --cert FILE        your TLS certificate (full chain) for NAME, and
#   --cert-key FILE    its private key; copied to /etc/bgk-server/tls/
#   --cert-ca FILE     the CA of that certificate when it is not a public one (kiosks get it)
#   --certbot EMAIL    a Let's Encrypt certificate instead (NAME must reach this machine
#                      on port 80 from the internet); renewed by certbot's timer
#   --postgres         PostgreSQL on this machine (database and role bgk) instead of SQLite
#   --wheels DIR       the software (default: the kit's wheels/ beside deploy/)
#   --source DIR       build the software from this project folder instead (needs internet)
#   --ssh-port N       the firewall keeps SSH open on this port (default 22)
#   --no-firewall      leave the firewall alone
#   --https-port N --http-port N --mqtts-port N --mqtt-port N --app-port N
#                      ports (default 443 80 8883 1883 8080)
#   --root DIR         install under DIR instead of / (a scratch root: tests)
#   --dry-run          print every action, change nothing
#
# The choices of the first run are kept in /etc/bgk-server/install.env: later runs
# need no options. What it does, and why each folder has its owner and mode:
# deploy/README.md.
set -euo pipefail

# shellcheck disable=SC2034  # die's prefix (deploy/lib/ensure.sh)
PROG=install
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kit="$(cd "$here/../.." && pwd)"
# shellcheck source=../lib/ensure.sh
source "$here/../lib/ensure.sh"

ROOT="" URL="" KEYS="" RESTORE="" KEEP_TARGETS=0 CERT="" CERT_KEY="" CERT_CA="" CERTBOT=""
POSTGRES=0 WHEELS="" SOURCE="" SSH_PORT=22 FIREWALL=1
HTTPS_PORT=443 HTTP_PORT=80 MQTTS_PORT=8883 MQTT_PORT=1883 APP_PORT=8080
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do  # where install.env is: --root first
    [ "${args[$i]}" = --root ] && ROOT="$(cd "${args[$((i + 1))]}" && pwd)"
done
ENV_FILE="$ROOT/etc/bgk-server/install.env"
# shellcheck disable=SC1090
[ -f "$ENV_FILE" ] && source "$ENV_FILE"
while [ $# -gt 0 ]; do
    case "$1" in
        --url) URL="${2:?}"; shift 2 ;;
        --keys) KEYS="${2:?}"; shift 2 ;;
        --restore) RESTORE="${2:?}"; shift 2 ;;
        --keep-targets) KEEP_TARGETS=1; shift ;;
        --cert) CERT="${2:?}"; CERTBOT=""; shift 2 ;;
        --cert-key) CERT_KEY="${2:?}"; shift 2 ;;
        --cert-ca) CERT_CA="${2:?}"; shift 2 ;;
        --certbot) CERTBOT="${2:?}"; CERT=""; CERT_KEY=""; shift 2 ;;
        --postgres) POSTGRES=1; shift ;;
        --wheels) WHEELS="${2:?}"; shift 2 ;;
        --source) SOURCE="${2:?}"; shift 2 ;;
        --ssh-port) SSH_PORT="${2:?}"; shift 2 ;;
        --no-firewall) FIREWALL=0; shift ;;
        --https-port) HTTPS_PORT="${2:?}"; shift 2 ;;
        --http-port) HTTP_PORT="${2:?}"; shift 2 ;;
        --mqtts-port) MQTTS_PORT="${2:?}"; shift 2 ;;
        --mqtt-port) MQTT_PORT="${2:?}"; shift 2 ;;
        --app-port) APP_PORT="${2:?}"; shift 2 ;;
        --root) shift 2 ;;
        --dry-run) DRY=1; shift ;;
        -h|--help) awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

[ -n "$URL" ] || die "--url is needed the first time, e.g. --url https://kiosk.example.vn"
case "$URL" in https://*|http://*) ;; *) die "--url $URL must start with https://" ;; esac
HOST="${URL#*://}"; HOST="${HOST%%/*}"; HOST="${HOST%%:*}"
if [ -z "$CERT$CERTBOT" ]; then
    die "say how TLS is set up: --cert FILE --cert-key FILE (your certificate), or --certbot EMAIL"
fi
[ -z "$CERT" ] || [ -n "$CERT_KEY" ] || die "--cert needs --cert-key (the certificate's key)"
if [ "$DRY" = 0 ] && [ "$(id -u)" != 0 ]; then
    die "run it as root (sudo), or with --dry-run to see what it does"
fi
if [ -z "$WHEELS" ] && [ -z "$SOURCE" ]; then
    if [ -d "$kit/wheels" ]; then
        WHEELS="$kit/wheels"
    else
        die "no software next to this script: make a kit (scripts/wheelhouse --for server -o KIT) and run KIT/deploy/server/install.sh, or pass --wheels DIR or --source DIR"
    fi
fi

OPT="$ROOT/opt/bgk" VENV="$ROOT/opt/bgk/venv" BGK="$ROOT/opt/bgk/venv/bin/bgk"
DATA="$ROOT/var/lib/bgk-server" ETC="$ROOT/etc/bgk-server" BACKUPS="$ROOT/var/backups/bgk"
BROKER="$ROOT/etc/mosquitto/bgk" UNITS="$ROOT/etc/systemd/system"
NGINX="$ROOT/etc/nginx" ACME="$ROOT/var/www/bgk-acme"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# the project's file with the paths of this installation
relocate() {
    sed -e "s#/opt/bgk#$OPT#g" -e "s#/var/lib/bgk-server#$DATA#g" \
        -e "s#/etc/mosquitto/bgk#$BROKER#g" -e "s#/var/backups/bgk#$BACKUPS#g" \
        -e "s#/etc/bgk-server#$ETC#g" "$1"
}
as_bgk() { (cd / && runuser -u bgk -- env HOME=/var/lib/bgk-server PYTHAINLP_READ_ONLY=1 "$@"); }
json_count() { /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["changed"]))'; }
restart_server=0 restart_broker=0 reload_nginx=0 daemon_reload=0 made_data=0

echo "== Debian packages"
packages=(python3-venv mosquitto nginx-light ca-certificates)
[ "$FIREWALL" = 1 ] && packages+=(nftables)
[ "$POSTGRES" = 1 ] && packages+=(postgresql)
[ -n "$CERTBOT" ] && packages+=(certbot)
ensure_packages "${packages[@]}"
if ! systemctl list-units --no-pager >/dev/null 2>&1; then
    [ "$DRY" = 1 ] || die "systemd is not running here: the server's services need it (Debian 12 on a machine or VM)"
    echo "   (systemd is not running here: a real run would stop at this point)"
fi

echo "== the service user bgk, its folders"
# bgk joins no other group: each shared folder names the group that may read it
ensure_user bgk /var/lib/bgk-server
ensure_dir "$OPT" root root 0755
ensure_dir "$ETC" root root 0755
# nginx (group www-data) passes through to tuf/ and blobs/; the server keeps the rest
ensure_dir "$DATA" bgk www-data 0750
ensure_dir "$BACKUPS" bgk bgk 0700

echo "== software in $VENV"
install_software "$VENV" server "$WHEELS" "$SOURCE" "$work/wheels"
[ "$CHANGED" = 1 ] && restart_server=1
ensure_file "$kit/README.md" "$OPT/README.md" root root 0644

ensure_service() {  # UNIT RESTART(0/1) [reload]: enabled, running, restarted when asked
    systemctl is-enabled -q "$1" 2>/dev/null || act systemctl enable "$1"
    if ! systemctl is-active -q "$1" 2>/dev/null; then
        act systemctl start "$1"
    elif [ "$2" = 1 ]; then
        act systemctl "${3:-restart}" "$1"
    fi
}

if [ "$POSTGRES" = 1 ]; then
    echo "== PostgreSQL: role and database bgk (peer login over the local socket, no password)"
    ensure_service postgresql.service 0
    act_if_missing() { "$1" | grep -qx 1 || act "${@:2}"; }
    role() { runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_roles WHERE rolname='bgk'"; }
    database() { runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_database WHERE datname='bgk'"; }
    act_if_missing role runuser -u postgres -- createuser bgk
    act_if_missing database runuser -u postgres -- createdb -O bgk bgk
fi

echo "== data folder $DATA"
if [ -f "$DATA/server.toml" ]; then
    echo "   kept (upgrades keep the data; backups: deploy/README.md)"
elif [ -n "$RESTORE" ]; then
    restore=("$BGK" server restore - --data "$DATA")
    [ -n "$KEYS" ] && restore+=(--keys "$KEYS")
    [ "$KEEP_TARGETS" = 1 ] && restore+=(--keep-targets)
    act_from "$RESTORE" as_bgk "${restore[@]}"
    restart_server=1
else
    [ -n "$KEYS" ] || die "--keys DIR is needed to make the data folder (the offline keyset)"
    if [ "$DRY" = 0 ] && ! as_bgk test -r "$KEYS/root.pem"; then
        die "user bgk cannot read $KEYS/root.pem: mount the key medium readable by bgk (deploy/README.md)"
    fi
    act as_bgk "$BGK" server init --data "$DATA" --keys "$KEYS" --url "$URL" \
        --http "127.0.0.1:$APP_PORT"
    # with PostgreSQL the store is there: the SQLite file of `init` is not used
    [ "$POSTGRES" = 0 ] || act rm -f "$DATA/fleet.db"
    restart_server=1 made_data=1
fi

echo "== settings in $DATA/server.toml"
settings=(--set "server.url=$URL" --set "http.listen=127.0.0.1:$APP_PORT"
    --set "mqtt.url=mqtt://127.0.0.1:$MQTT_PORT" --set "mqtt.kiosk_url=mqtts://$HOST:$MQTTS_PORT"
    --set "mqtt.hostnames=[\"$HOST\"]" --set "mqtt.broker_dir=$BROKER")
[ "$POSTGRES" = 1 ] && settings+=(--set "store.url=postgresql+psycopg:///bgk?host=/var/run/postgresql")
[ -n "$CERT_CA" ] && settings+=(--set "server.ca=$ETC/tls/ca.crt")
if [ -f "$DATA/server.toml" ]; then
    dry=(); [ "$DRY" = 1 ] && dry=(--dry-run)
    n="$(as_bgk "$BGK" server config --data "$DATA" "${settings[@]}" --json "${dry[@]}" | json_count)"
    if [ "$n" != 0 ]; then
        CHANGES=$((CHANGES + n)); restart_server=1; restart_broker=1
        echo "+ $n setting(s) of server.toml"
    fi
else
    echo "would: bgk server config --data $DATA ${settings[*]}"
    CHANGES=$((CHANGES + 1))
fi

echo "== Mosquitto: configuration and TLS in $BROKER (root's), kiosk list in $BROKER/fleet (bgk's)"
ensure_dir "$BROKER" root root 0755
if [ -x "$BGK" ] && [ -f "$DATA/server.toml" ]; then
    dry=(); [ "$DRY" = 1 ] && dry=(--dry-run)
    n="$("$BGK" server mosquitto-config --data "$DATA" -o "$BROKER" --tls-port "$MQTTS_PORT" \
        --port "$MQTT_PORT" --persistence "$ROOT/var/lib/mosquitto" \
        --log-dest "file $ROOT/var/log/mosquitto/mosquitto.log" \
        --pid-file "$ROOT/run/mosquitto/mosquitto.pid" --run-as mosquitto --json "${dry[@]}" \
        | json_count)"
    if [ "$n" != 0 ]; then
        CHANGES=$((CHANGES + n)); restart_broker=1
        echo "+ $n broker file(s)"
    fi
else
    echo "would: bgk server mosquitto-config --data $DATA -o $BROKER ..."
    CHANGES=$((CHANGES + 1))
fi
relocate "$kit/deploy/mosquitto/bgk-mosquitto.service.conf" >"$work/mosquitto.conf"
ensure_file "$work/mosquitto.conf" "$UNITS/mosquitto.service.d/bgk.conf" root root 0644
[ "$CHANGED" = 1 ] && { daemon_reload=1; restart_broker=1; }

echo "== TLS certificate for $HOST"
if [ -n "$CERT" ]; then
    ensure_file "$CERT" "$ETC/tls/server.crt" root root 0644
    [ "$CHANGED" = 1 ] && reload_nginx=1
    ensure_file "$CERT_KEY" "$ETC/tls/server.key" root root 0600
    [ "$CHANGED" = 1 ] && reload_nginx=1
    [ -z "$CERT_CA" ] || ensure_file "$CERT_CA" "$ETC/tls/ca.crt" root root 0644
    crt="$ETC/tls/server.crt" key="$ETC/tls/server.key"
else
    crt="/etc/letsencrypt/live/$HOST/fullchain.pem" key="/etc/letsencrypt/live/$HOST/privkey.pem"
fi

echo "== nginx: the site, the delivery snippet, nginx -t"
port_suffix=""; [ "$HTTPS_PORT" = 443 ] || port_suffix=":$HTTPS_PORT"
sed -e "s#kiosk\.example\.vn#$HOST#g" \
    -e "s#listen 80;#listen $HTTP_PORT;#; s#listen \[::\]:80;#listen [::]:$HTTP_PORT;#" \
    -e "s#listen 443 ssl http2;#listen $HTTPS_PORT ssl http2;#" \
    -e "s#listen \[::\]:443 ssl http2;#listen [::]:$HTTPS_PORT ssl http2;#" \
    -e "s#http://127\.0\.0\.1:8080#http://127.0.0.1:$APP_PORT#" \
    -e "s#ssl_certificate     /etc/bgk-server/tls/server\.crt#ssl_certificate     $crt#" \
    -e "s#ssl_certificate_key /etc/bgk-server/tls/server\.key#ssl_certificate_key $key#" \
    -e "s#include /etc/nginx/snippets/#include $NGINX/snippets/#" \
    -e "s#root /var/www/bgk-acme#root $ACME#" \
    -e "s#https://\$host\$request_uri#https://\$host$port_suffix\$request_uri#" \
    "$kit/deploy/nginx/site.conf.example" >"$work/site.conf"
if [ -n "$CERTBOT" ] && [ ! -f "$crt" ]; then  # port 80 alone until certbot has a certificate
    awk '/^server \{/ { n++ } n < 2' "$work/site.conf" >"$work/site-80.conf"
    mv "$work/site-80.conf" "$work/site.conf"
fi
relocate "$kit/deploy/nginx/bgk-delivery.conf" >"$work/bgk-delivery.conf"
ensure_dir "$ACME" root root 0755
ensure_file "$work/bgk-delivery.conf" "$NGINX/snippets/bgk-delivery.conf" root root 0644
[ "$CHANGED" = 1 ] && reload_nginx=1
ensure_file "$work/site.conf" "$NGINX/sites-available/bgk" root root 0644
[ "$CHANGED" = 1 ] && reload_nginx=1
ensure_link "$NGINX/sites-available/bgk" "$NGINX/sites-enabled/bgk"
[ "$CHANGED" = 1 ] && reload_nginx=1
if [ "$DRY" = 0 ]; then
    nginx -t -q -c "$NGINX/nginx.conf" 2>"$work/nginx-t" \
        || die "nginx -t refuses the configuration: $(tr '\n' ' ' <"$work/nginx-t")"
fi

echo "== services"
for unit in bgk-server.service bgk-ingest@.service bgk-backup.service bgk-backup.timer \
    bgk-mosquitto-reload.path bgk-mosquitto-reload.service; do
    relocate "$kit/deploy/systemd/$unit" >"$work/$unit"
    ensure_file "$work/$unit" "$UNITS/$unit" root root 0644
    if [ "$CHANGED" = 1 ]; then
        daemon_reload=1
        [ "$unit" = bgk-server.service ] && restart_server=1
    fi
done
[ "$daemon_reload" = 1 ] && act systemctl daemon-reload
ensure_service mosquitto.service "$restart_broker"
ensure_service bgk-mosquitto-reload.path 0
ensure_service bgk-server.service "$restart_server"
ensure_service bgk-backup.timer 0
ensure_service nginx.service "$reload_nginx" reload
if [ -n "$CERTBOT" ] && [ ! -f "$crt" ]; then
    act certbot certonly --webroot -w "$ACME" -d "$HOST" -m "$CERTBOT" --agree-tos -n \
        --keep-until-expiring --deploy-hook "systemctl reload nginx"
    echo "   certificate in place: run this installer again to turn on HTTPS"
fi

if [ "$FIREWALL" = 1 ]; then
    echo "== firewall (nftables): SSH $SSH_PORT, HTTP $HTTP_PORT, HTTPS $HTTPS_PORT, MQTT/TLS $MQTTS_PORT"
    sed -e "s#tcp dport { 22, 80, 443, 8883 }#tcp dport { $SSH_PORT, $HTTP_PORT, $HTTPS_PORT, $MQTTS_PORT }#" \
        "$kit/deploy/nftables/bgk.nft" >"$work/firewall.nft"
    nft -c -f "$work/firewall.nft" || die "nft refuses the firewall rules (see above)"
    ensure_file "$work/firewall.nft" "$ETC/firewall.nft" root root 0644
    firewall_changed=$CHANGED
    conf="$ROOT/etc/nftables.conf"
    line="include \"$ETC/firewall.nft\""
    if ! grep -qxF "$line" "$conf" 2>/dev/null; then
        act sh -c "printf '\\n# the border-gate kiosk server (deploy/server/install.sh)\\n%s\\n' '$line' >>'$conf'"
        firewall_changed=1
    fi
    if [ -z "$ROOT" ]; then
        ensure_service nftables.service "$firewall_changed"
    else
        echo "   (a scratch root: the rules are written and checked, not loaded on this machine)"
    fi
fi

echo "== remembered for the next run: $ENV_FILE"
{
    for name in URL CERT CERT_KEY CERT_CA CERTBOT POSTGRES SSH_PORT FIREWALL \
        HTTPS_PORT HTTP_PORT MQTTS_PORT MQTT_PORT APP_PORT; do
        printf '%s=%q\n' "$name" "${!name}"
    done
} >"$work/install.env"
ensure_file "$work/install.env" "$ENV_FILE" root root 0644

echo
if [ "$DRY" = 1 ]; then
    echo "$CHANGES change(s) would be made (dry run: nothing changed)"
elif [ "$CHANGES" = 0 ]; then
    echo "nothing to change: the server is as this installer makes it"
else
    echo "$CHANGES change(s) made; the dashboard is at $URL/"
    if [ "$made_data" = 1 ]; then
        echo "first admin: sudo -u bgk $BGK server user add admin --role admin --generate --data $DATA"
    fi
fi
