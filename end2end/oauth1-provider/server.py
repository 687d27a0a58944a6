"""An OAuth 1.0a provider for the tests, on a free loopback port: PyPI `oauthlib`'s server endpoints (RFC 5849)
with its tokens in memory.

    POST /oauth/request_token   temporary credentials for a signed request with oauth_callback
    GET  /oauth/authorize       the user's consent: `?oauth_token=…` approves at once and redirects to the
                                callback with oauth_token and oauth_verifier; `&deny=1` redirects with
                                `denied=…` instead
    POST /oauth/access_token    the access token, for a request signed with the request token and the verifier
    ANY  /api/…                 a protected resource: answers 200 with what it saw when the signature is good
                                (query and form fields included), else 401

Its consumer is CONSUMER_KEY / CONSUMER_SECRET below. It prints `OAUTH1_PROVIDER_READY http://127.0.0.1:PORT`
when it listens, and stops on SIGTERM.
"""

import json
import sys
from pathlib import Path
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pylib"))
from loopback import serve  # noqa: E402

from oauthlib.common import generate_token
from oauthlib.oauth1 import (
    AccessTokenEndpoint,
    AuthorizationEndpoint,
    RequestTokenEndpoint,
    RequestValidator,
    ResourceEndpoint,
)

CONSUMER_KEY = "tetherOAuth1Consumer01"
CONSUMER_SECRET = "tetherOAuth1ConsumerSecret01"


class Validator(RequestValidator):
    """Every check against the tokens this provider issued, kept in memory."""

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()
        self.request_tokens = {}  # token -> {secret, callback, verifier}
        self.access_tokens = {}  # token -> secret
        self.nonces = set()

    enforce_ssl = False
    safe_characters = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
    client_key_length = (10, 64)
    request_token_length = (10, 64)
    access_token_length = (10, 64)
    verifier_length = (10, 64)
    nonce_length = (6, 64)
    realms = []

    @property
    def dummy_client(self):
        return "dummyClientKeyForTiming"

    @property
    def dummy_request_token(self):
        return "dummyRequestTokenForTiming"

    @property
    def dummy_access_token(self):
        return "dummyAccessTokenForTiming"

    def validate_client_key(self, client_key, request):
        return client_key == CONSUMER_KEY

    def get_client_secret(self, client_key, request):
        return CONSUMER_SECRET if client_key == CONSUMER_KEY else "dummy"

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, request_token=None,
                                     access_token=None):
        key = (client_key, timestamp, nonce, request_token, access_token)
        with self.lock:
            if key in self.nonces:
                return False
            self.nonces.add(key)
            return True

    def validate_redirect_uri(self, client_key, redirect_uri, request):
        return redirect_uri.startswith("http://") or redirect_uri.startswith("https://")

    def validate_requested_realms(self, client_key, realms, request):
        return True

    def get_default_realms(self, client_key, request):
        return []

    def save_request_token(self, token, request):
        with self.lock:
            self.request_tokens[token["oauth_token"]] = {
                "secret": token["oauth_token_secret"],
                "callback": request.redirect_uri,
                "verifier": None,
            }

    def verify_request_token(self, token, request):
        return token in self.request_tokens

    def get_realms(self, token, request):
        return []

    def get_redirect_uri(self, token, request):
        return self.request_tokens[token]["callback"]

    def save_verifier(self, token, verifier, request):
        with self.lock:
            self.request_tokens[token]["verifier"] = verifier["oauth_verifier"]

    def validate_request_token(self, client_key, token, request):
        return token in self.request_tokens

    def get_request_token_secret(self, client_key, token, request):
        entry = self.request_tokens.get(token)
        return entry["secret"] if entry else "dummy"

    def validate_verifier(self, client_key, token, verifier, request):
        entry = self.request_tokens.get(token)
        return bool(entry and entry["verifier"] and entry["verifier"] == verifier)

    def validate_realms(self, client_key, token, request, uri=None, realms=None):
        return True

    def verify_realms(self, token, realms, request):
        return True

    def invalidate_request_token(self, client_key, request_token, request):
        with self.lock:
            self.request_tokens.pop(request_token, None)

    def save_access_token(self, token, request):
        with self.lock:
            self.access_tokens[token["oauth_token"]] = token["oauth_token_secret"]

    def validate_access_token(self, client_key, token, request):
        return token in self.access_tokens

    def get_access_token_secret(self, client_key, token, request):
        return self.access_tokens.get(token, "dummy")


VALIDATOR = Validator()
REQUEST_TOKENS = RequestTokenEndpoint(VALIDATOR)
AUTHORIZATION = AuthorizationEndpoint(VALIDATOR)
ACCESS_TOKENS = AccessTokenEndpoint(VALIDATOR)
RESOURCES = ResourceEndpoint(VALIDATOR)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def uri(self):
        host = self.headers.get("Host", "127.0.0.1")
        return f"http://{host}{self.path}"

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8") if length else ""

    def answer(self, status, headers, body):
        body = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self, method):
        path = urllib.parse.urlsplit(self.path).path
        body = self.body() if method != "GET" else ""
        headers = dict(self.headers.items())
        if method == "POST" and path == "/oauth/request_token":
            self.answer(*_reorder(REQUEST_TOKENS.create_request_token_response(self.uri(), method, body, headers)))
        elif method == "GET" and path == "/oauth/authorize":
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            token = query.get("oauth_token", "")
            if query.get("deny"):
                entry = VALIDATOR.request_tokens.get(token)
                if not entry:
                    self.answer(400, {"Content-Type": "text/plain"}, "unknown oauth_token")
                    return
                location = entry["callback"] + ("&" if "?" in entry["callback"] else "?") + urllib.parse.urlencode(
                    {"denied": token})
                self.answer(302, {"Location": location}, "")
                return
            try:
                headers, body, status = AUTHORIZATION.create_authorization_response(self.uri(), method, "", headers)
            except Exception as error:  # oauthlib raises on an unknown token
                self.answer(400, {"Content-Type": "text/plain"}, f"refused: {error}")
                return
            self.answer(status, headers, body)
        elif method == "POST" and path == "/oauth/access_token":
            self.answer(*_reorder(ACCESS_TOKENS.create_access_token_response(self.uri(), method, body, headers)))
        elif path.startswith("/api/"):
            valid, request = RESOURCES.validate_protected_resource_request(self.uri(), method, body, headers)
            if not valid:
                failed = [name for name, passed in getattr(request, "validator_log", {}).items() if not passed]
                print(f"oauth1 provider: refused {method} {self.path}: failed {failed}", file=sys.stderr, flush=True)
                self.answer(401, {"Content-Type": "text/plain"}, "oauth_problem=signature_invalid")
                return
            seen = {
                "method": method,
                "path": path,
                "query": dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)),
                "form": dict(urllib.parse.parse_qsl(body)) if self.headers.get("Content-Type", "").startswith(
                    "application/x-www-form-urlencoded") else None,
                "token": request.resource_owner_key,
            }
            self.answer(200, {"Content-Type": "application/json"}, json.dumps(seen))
        else:
            self.answer(404, {"Content-Type": "text/plain"}, "not found")

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")


def _reorder(response):
    headers, body, status = response
    return status, headers, body


if __name__ == "__main__":
    serve(Handler, "OAUTH1_PROVIDER_READY")
