"""An upstream for the tests that checks Duo request signatures with Duo's own Python client (PyPI `duo_client`),
on a free loopback port.

Every request is signed again by `duo_client.client.sign` (canonical form version 2, HMAC-SHA1) from its `Date`
header, method, `Host`, path and parameters (the query, or a form body's fields), with the secret key of the
integration key its basic credentials name (INTEGRATION_KEYS below), and the two `Authorization` values are
compared. A match answers 200 with what was checked; anything else answers 401 with the reason, as Duo does.

It prints `DUO_VERIFIER_READY http://127.0.0.1:PORT` when it listens, and stops on SIGTERM.
"""

import base64
import hashlib
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pylib"))
from loopback import checking_handler, serve  # noqa: E402

from duo_client.client import sign

INTEGRATION_KEYS = {"DITETHERTEST00000001": "tetherDuoSecretKey0123456789abcdefghijkl"}


def check(method, target, headers, body):
    """Why the request's signature is wrong, or None and what was checked."""
    host = headers.get("host", "")
    authorization = headers.get("authorization", "")
    if not authorization.startswith("Basic "):
        return "no basic authorization header", None
    try:
        integration_key, _ = base64.b64decode(authorization[len("Basic "):]).decode("utf-8").split(":", 1)
    except ValueError:
        return "the authorization header is not basic credentials", None
    secret = INTEGRATION_KEYS.get(integration_key)
    if secret is None:
        return f"unknown integration key {integration_key}", None
    date = headers.get("date")
    if not date:
        return "no Date header", None
    path, _, query = target.partition("?")
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    if headers.get("content-type", "").split(";")[0].strip() == "application/x-www-form-urlencoded":
        for name, values in urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True).items():
            params.setdefault(name, []).extend(values)
    expected = sign(integration_key, secret, method, host, path, date, 2, params, digestmod=hashlib.sha1)
    if expected != authorization:
        return "signature mismatch", {"path": path, "params": params}
    return None, {"verified": True, "method": method, "path": path, "params": params, "date": date}


if __name__ == "__main__":
    serve(checking_handler(check, 401), "DUO_VERIFIER_READY")
