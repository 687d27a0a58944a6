"""An upstream for the tests that checks AWS Signature Version 4 signatures with AWS's own Python library
(PyPI `botocore`), on a free loopback port.

Every request is taken apart as AWS would: the access key, date, region and service of its `Authorization`
header, and the headers it says it signed. botocore then signs the same method, URL, signed headers and body with
the secret key of that access key (ACCESS_KEYS below) at the request's `x-amz-date`, and the two signatures are
compared. A match answers 200 with what was checked; anything else answers 403 with the reason.

It prints `AWS_VERIFIER_READY http://127.0.0.1:PORT` when it listens, and stops on SIGTERM.
"""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pylib"))
from loopback import checking_handler, serve  # noqa: E402

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEYS = {"AKIDTETHERTEST": "tether/test+Secret/Key0123456789abcdefghij"}

AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r" ?SignedHeaders=(?P<signed>[^,]+), ?Signature=(?P<signature>[0-9a-f]{64})$"
)


def check(method, target, headers, body):
    """Why the request's signature is wrong, or None and what was checked."""
    url = f"http://{headers.get('host', '127.0.0.1')}{target}"
    match = AUTHORIZATION.match(headers.get("authorization", ""))
    if not match:
        return "no AWS4-HMAC-SHA256 authorization header", None
    secret = ACCESS_KEYS.get(match["key"])
    if secret is None:
        return f"unknown access key {match['key']}", None
    signed_names = match["signed"].split(";")
    for required in ("host", "x-amz-date"):
        if required not in signed_names:
            return f"{required} is not signed", None
    amz_date = headers.get("x-amz-date", "")
    if not amz_date.startswith(match["date"]):
        return "x-amz-date does not match the credential's date", None
    signed = {name: headers[name] for name in signed_names if name in headers}
    request = AWSRequest(method=method, url=url, headers=signed, data=body)
    request.context["timestamp"] = amz_date
    token = headers.get("x-amz-security-token")
    auth_class = S3SigV4Auth if match["service"] == "s3" else SigV4Auth
    auth = auth_class(Credentials(match["key"], secret, token), match["service"], match["region"])
    canonical = auth.canonical_request(request)
    expected = auth.signature(auth.string_to_sign(request, canonical), request)
    if expected != match["signature"]:
        return "signature mismatch", {"canonicalRequest": canonical}
    checked = {
        "verified": True, "service": match["service"], "region": match["region"], "signedHeaders": signed_names,
        "sessionToken": token, "method": method, "body": body.decode("utf-8", "replace"),
    }
    return None, checked


if __name__ == "__main__":
    serve(checking_handler(check, 403), "AWS_VERIFIER_READY")
