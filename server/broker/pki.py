"""The fleet link's keys, made with `cryptography` the first time they are needed.

    DATA/mqtt/ca.key, ca.crt         the MQTT CA (10 years): signs the broker's TLS
                                     certificate; kiosks trust it (bundle: mqtt-ca.crt)
    DATA/mqtt/broker.key, .crt       the broker's TLS certificate (2 years, reissued when
                                     it nears expiry or its names change)
    DATA/mqtt/command.key, .pub      Ed25519: the server signs commands, kiosks verify
                                     (bundle: command.pub)
    DATA/mqtt/server.secret          32 random bytes; server broker passwords derive from it

`ensure_fleet_keys` is called by `bgk server mosquitto-config` and by
enrolment, so a data directory gets its keys whichever comes first. Private
keys are written 0600; nothing here is ever committed. Written by root (the
installer runs mosquitto-config as root), they still belong to the owner of
DATA/mqtt, the server's user: root never leaves a key the server cannot read.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kiosk.common.files import atomic_write

CA_DAYS = 3650
BROKER_DAYS = 730
#: reissue the broker certificate when it has less than this left
BROKER_RENEW_DAYS = 60


@dataclass(frozen=True)
class FleetKeys:
    dir: Path

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca.key"

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def broker_key(self) -> Path:
        return self.dir / "broker.key"

    @property
    def broker_cert(self) -> Path:
        return self.dir / "broker.crt"

    @property
    def command_key(self) -> Path:
        return self.dir / "command.key"

    @property
    def command_pub(self) -> Path:
        return self.dir / "command.pub"

    @property
    def server_secret(self) -> Path:
        return self.dir / "server.secret"

    def load_command_key(self) -> ed25519.Ed25519PrivateKey:
        key = serialization.load_pem_private_key(self.command_key.read_bytes(), None)
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        return key

    def secret(self) -> bytes:
        return self.server_secret.read_bytes()


def _pem_key(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "BGK border-gate kiosks"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _write(keys: FleetKeys, path: Path, data: bytes, mode: int = 0o644) -> None:
    owner = None
    if os.geteuid() == 0:
        st = keys.dir.stat()
        owner = (st.st_uid, st.st_gid)
    atomic_write(path, data, mode=mode, owner=owner)


def _make_ca(keys: FleetKeys, now: dt.datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("BGK MQTT CA"))
        .issuer_name(_name("BGK MQTT CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(keys, keys.ca_key, _pem_key(key), mode=0o600)
    _write(keys, keys.ca_cert, cert.public_bytes(serialization.Encoding.PEM))


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _broker_names(cert: x509.Certificate) -> set[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {str(v) for v in san.get_values_for_type(x509.DNSName)} | {
        str(v) for v in san.get_values_for_type(x509.IPAddress)
    }


def _make_broker_cert(keys: FleetKeys, names: list[str], now: dt.datetime) -> None:
    ca_key = serialization.load_pem_private_key(keys.ca_key.read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(keys.ca_cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=BROKER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_san(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(keys, keys.broker_key, _pem_key(key), mode=0o600)
    _write(keys, keys.broker_cert, cert.public_bytes(serialization.Encoding.PEM))


def ensure_fleet_keys(
    data: Path, hostnames: list[str], now: dt.datetime | None = None
) -> FleetKeys:
    """Create what is missing under DATA/mqtt; reissue the broker certificate when
    its names changed or it expires within BROKER_RENEW_DAYS. Idempotent."""
    now = now or dt.datetime.now(dt.UTC)
    keys = FleetKeys(data / "mqtt")
    keys.dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys.dir, 0o700)
    if not keys.ca_key.exists() or not keys.ca_cert.exists():
        _make_ca(keys, now)
    names = list(dict.fromkeys([*hostnames, "localhost", "127.0.0.1", "::1"]))
    renew = True
    if keys.broker_cert.exists() and keys.broker_key.exists():
        cert = x509.load_pem_x509_certificate(keys.broker_cert.read_bytes())
        left = cert.not_valid_after_utc - now
        renew = left < dt.timedelta(days=BROKER_RENEW_DAYS) or not set(names) <= _broker_names(cert)
    if renew:
        _make_broker_cert(keys, names, now)
    if not keys.command_key.exists() or not keys.command_pub.exists():
        key = ed25519.Ed25519PrivateKey.generate()
        _write(keys, keys.command_key, _pem_key(key), mode=0o600)
        pub = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        _write(keys, keys.command_pub, pub)
    if not keys.server_secret.exists():
        _write(keys, keys.server_secret, os.urandom(32), mode=0o600)
    return keys
