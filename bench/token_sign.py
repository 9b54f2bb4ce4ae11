"""How long a publisher's signature takes on a PKCS#11 token (SoftHSM2) through
`bgk`'s token signer (securesystemslib's HSMSigner: find the token, log in with
the PIN, sign, log out, per signature), against the baseline of an Ed25519 key
already open in memory (CryptoSigner) and of opening an encrypted key file
(scrypt, what `bgk sign --key` pays once), all in this run.

    .venv/bin/python bench/token_sign.py [--n 50]

Needs Debian's softhsm2; the token lives in a temporary SOFTHSM2_CONF.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
PIN = "314159"


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=50, help="signatures per kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bgk-bench-token-") as tmp:
        work = Path(tmp)
        (work / "tokens").mkdir()
        conf = work / "softhsm2.conf"
        conf.write_text(f"directories.tokendir = {work / 'tokens'}\nobjectstore.backend = file\n")
        os.environ["SOFTHSM2_CONF"] = str(conf)
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", "bench", "--so-pin",
             "so-secret-1", "--pin", PIN],
            check=True, capture_output=True,
        )  # fmt: skip
        (work / "pin").write_text(PIN + "\n")

        from securesystemslib.signer import CryptoSigner

        from server.packs.keyfile import Passphrases, write_passphrase_file
        from server.packs.keys import read_key_file, save_key
        from server.packs.tokenkey import Pins, TokenKey, generate, token_signer

        key = TokenKey(MODULE, "bench")
        generate(key, Pins(work / "pin"), "bench")
        payload = os.urandom(4096)  # about the size of a publishers metadata
        opened = time.perf_counter()
        token = token_signer(key, Pins(work / "pin"))
        token_open = time.perf_counter() - opened
        on_token = timed(lambda: token.sign(payload), args.n)

        memory = CryptoSigner.generate_ed25519()
        in_memory = timed(lambda: memory.sign(payload), args.n)
        secret = write_passphrase_file(work / "pass", "bench-passphrase-1")
        save_key(work / "an.pem", memory, secret)
        file_open = timed(
            lambda: read_key_file(work / "an.pem", "x", Passphrases(work / "pass")), 5
        )
    token_ms = statistics.median(on_token) * 1000
    memory_ms = statistics.median(in_memory) * 1000
    file_ms = statistics.median(file_open) * 1000
    figures = {
        "signatures": args.n,
        "token_open_ms": round(token_open * 1000, 1),
        "token_sign_ms": round(token_ms, 2),
        "ed25519_in_memory_sign_ms": round(memory_ms, 3),
        "encrypted_key_file_open_ms": round(file_ms, 1),
        "token_vs_in_memory": round(token_ms / memory_ms, 1),
        "token_vs_key_file_open": round(token_ms / file_ms, 2),
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
