"""Emulates, on a free loopback port, the OAuth 2.0 endpoints and one API call of the providers teams connect most,
each with the habits its own documentation describes: how its token answers look, whether and how tokens expire,
whether refresh tokens rotate, how it refuses, how the client authenticates, and the values it adds to the
redirect. Every provider lives under its own path prefix, `/{provider}/…`, so that an element's URLs keep their paths
with the emulator's address in front.

Requests are told apart by their shape, whatever their path:
    GET with `response_type` and `redirect_uri`  the user's consent: approves at once and redirects with a code
    POST with `grant_type`                       the token endpoint (authorization_code, refresh_token)
    POST with `token` and no `grant_type`        revocation (RFC 7009)
    anything else                                an API call: 200 when a header carries a live access token, else 401

Test controls, under `/test/`:
    POST /test/{provider}/revoke-all     the user revokes the app: every token of the provider dies
    POST /test/{provider}/expire-access  the provider's access tokens run out (its refresh tokens stay)
    GET  /test/{provider}/counts         {"exchanges", "refreshes", "revocations", "refused"}
    GET  /test/{provider}/profile        the provider's habits, as below

It prints `PROVIDER_EMULATOR_READY http://127.0.0.1:PORT` when it listens, and stops on SIGTERM.
"""

import base64
import hashlib
import json
import secrets
import sys
from pathlib import Path
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pylib"))
from loopback import serve  # noqa: E402

CLIENT_ID = "emulated-client"
CLIENT_SECRET = "emulated-secret"

# Each provider's habits, from its public OAuth documentation:
#   expires   seconds an access token lives; None: it never expires (no expires_in, or Mailchimp's 0)
#   expiry    how the answer says it: "expires_in", "expires_at" (Strava: absolute Unix seconds, besides
#             expires_in), "zero" (Mailchimp's "expires_in": 0 for a token that never expires)
#   refresh   whether a refresh token is issued
#   rotate    whether each refresh answers a new refresh token and retires the old one
#   resend    whether a refresh answer repeats the (unchanged) refresh token
#   client    "basic": only HTTP basic client authentication is accepted; "any": basic or body fields
#   body      "json": the token request must be JSON (Notion); "form" otherwise
#   refusal   how a dead grant is refused: "invalid_grant" (400), "ok_false" (Slack, 200),
#             "github" (200 with "bad_refresh_token"), "zoho" (200 with "invalid_code")
#   extra     more fields of the token answer; "{base}" is the provider's emulated address
#   redirect  values the provider adds to the redirect, beside code and state
PROVIDERS = {
    "sfdc": {"expires": None, "refresh": True, "rotate": False, "resend": False,
             "extra": {"instance_url": "{base}", "id": "{base}/id/00D/005", "signature": "sig", "issued_at": "1"}},
    "hubspot": {"expires": 1800, "refresh": True, "rotate": False, "resend": True},
    "google": {"expires": 3599, "refresh": True, "rotate": False, "resend": False,
               "extra": {"id_token": "header.payload.signature"}},
    "microsoft": {"expires": 3599, "refresh": True, "rotate": True, "extra": {"ext_expires_in": 3599}},
    "slack": {"expires": 43200, "refresh": True, "rotate": True, "refusal": "ok_false",
              "extra": {"ok": True, "bot_user_id": "U0KRQLJ9H", "app_id": "A0KRD7HC3",
                        "team": {"name": "Emulated", "id": "T9TK3CUKW"},
                        "authed_user": {"id": "U1234", "scope": "chat:write", "access_token": "xoxp-user",
                                        "token_type": "user"}}},
    "github": {"expires": 28800, "refresh": True, "rotate": True, "refusal": "github",
               "extra": {"refresh_token_expires_in": 15897600}},
    "box": {"expires": 3600, "refresh": True, "rotate": True, "extra": {"restricted_to": []}},
    "dropbox": {"expires": 14400, "refresh": True, "rotate": False, "resend": False,
                "extra": {"account_id": "dbid:emulated", "uid": "12345"}},
    "quickbooks": {"expires": 3600, "refresh": True, "rotate": True,
                   "extra": {"x_refresh_token_expires_in": 8726400}, "redirect": {"realmId": "4620816365"}},
    "xero": {"expires": 1800, "refresh": True, "rotate": True},
    "zoom": {"expires": 3599, "refresh": True, "rotate": True, "client": "basic"},
    "atlassian": {"expires": 3600, "refresh": True, "rotate": True},
    "notion": {"expires": None, "refresh": False, "client": "basic", "body": "json",
               "extra": {"bot_id": "b-1", "workspace_id": "w-1", "workspace_name": "Emulated", "owner": {"type": "user"}}},
    "shopify": {"expires": 3600, "refresh": True, "rotate": True, "extra": {"refresh_token_expires_in": 7776000},
                "redirect": {"shop": "acme-emulated.myshopify.com", "host": "YWRtaW4uc2hvcGlmeS5jb20", "timestamp": "1"}},
    "zendesk": {"expires": 1800, "refresh": True, "rotate": True},
    "pipedrive": {"expires": 3599, "refresh": True, "rotate": False, "resend": True, "client": "basic",
                  "extra": {"api_domain": "{base}"}},
    "intercom": {"expires": None, "refresh": False, "extra": {"token": "{access_token}"}},
    "asana": {"expires": 3600, "refresh": True, "rotate": False, "resend": False,
              "extra": {"data": {"id": "4673218951", "name": "Greg", "email": "greg@example.com"}}},
    "linear": {"expires": 315705599, "refresh": False},
    "docusign": {"expires": 28800, "refresh": True, "rotate": True, "client": "basic"},
    "stripe": {"expires": None, "refresh": True, "rotate": False, "resend": True,
               "extra": {"stripe_user_id": "acct_emulated", "stripe_publishable_key": "pk_test_emulated",
                         "livemode": False}},
    "mailchimp": {"expires": None, "expiry": "zero", "refresh": False},
    "keap": {"expires": 86400, "refresh": True, "rotate": True},
    "zoho": {"expires": 3600, "refresh": True, "rotate": False, "resend": False, "refusal": "zoho",
             "extra": {"api_domain": "{base}"}, "redirect": {"location": "us", "accounts-server": "{base}"}},
    "strava": {"expires": 21600, "expiry": "expires_at", "refresh": True, "rotate": True,
               "extra": {"athlete": {"id": 134815}}},
}


class State:
    """Every provider's codes and tokens, and what happened to them."""

    def __init__(self):
        self.lock = threading.Lock()
        self.codes = {}  # code -> (provider, redirect_uri, challenge)
        self.access = {}  # token -> provider
        self.refresh = {}  # token -> provider
        self.counts = {name: {"exchanges": 0, "refreshes": 0, "revocations": 0, "refused": 0} for name in PROVIDERS}


STATE = State()


def new_token(provider, kind):
    return f"{provider}-{kind}-{secrets.token_urlsafe(12)}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def base(self, provider):
        return f"http://{self.headers.get('Host')}/{provider}"

    def answer(self, status, body, content_type="application/json", headers=None):
        data = body if isinstance(body, bytes) else (json.dumps(body) if content_type == "application/json" else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        body = self.read_body() if self.command in ("POST", "PUT", "PATCH") else b""
        if parts[0] == "test" and len(parts) >= 3:
            return self.test_control(parts[1], parts[2])
        provider = parts[0]
        profile = PROVIDERS.get(provider)
        if profile is None:
            return self.answer(404, {"error": "no such emulated provider"})
        query = dict(urllib.parse.parse_qsl(url.query))
        if self.command == "GET" and "response_type" in query and "redirect_uri" in query:
            return self.consent(provider, profile, query)
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            try:
                fields = json.loads(body or b"{}")
            except ValueError:
                fields = {}
        else:
            fields = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        if self.command == "POST" and "grant_type" in fields:
            return self.token(provider, profile, fields, content_type)
        if self.command == "POST" and "token" in fields:
            return self.revoke(provider, fields)
        return self.api_call(provider)

    def consent(self, provider, profile, query):
        code = secrets.token_urlsafe(16)
        with STATE.lock:
            STATE.codes[code] = (provider, query["redirect_uri"], query.get("code_challenge"))
        values = {"code": code, "state": query.get("state", "")}
        for name, value in profile.get("redirect", {}).items():
            values[name] = value.replace("{base}", self.base(provider))
        separator = "&" if "?" in query["redirect_uri"] else "?"
        location = query["redirect_uri"] + separator + urllib.parse.urlencode(values)
        self.answer(302, b"", "text/plain", {"Location": location})

    def client_problem(self, profile, fields):
        """Why the client's authentication is refused, or None."""
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            pair = base64.b64decode(header[6:]).decode()
            given = tuple(urllib.parse.unquote_plus(part) for part in pair.split(":", 1))
        elif profile.get("client", "any") == "basic":
            return "this provider takes the client's credentials in an Authorization: Basic header"
        else:
            given = (fields.get("client_id"), fields.get("client_secret"))
        return None if given == (CLIENT_ID, CLIENT_SECRET) else "wrong client id or secret"

    def refuse(self, provider, profile, error, description, status=400):
        with STATE.lock:
            STATE.counts[provider]["refused"] += 1
        style = profile.get("refusal", "invalid_grant")
        if style == "ok_false":
            return self.answer(200, {"ok": False, "error": "invalid_refresh_token" if error == "invalid_grant" else error})
        if style == "github" and error == "invalid_grant":
            return self.answer(200, {"error": "bad_refresh_token", "error_description": description})
        if style == "zoho" and error == "invalid_grant":
            return self.answer(200, {"error": "invalid_code"})
        return self.answer(status, {"error": error, "error_description": description})

    def token(self, provider, profile, fields, content_type):
        if profile.get("body") == "json" and not content_type.startswith("application/json"):
            return self.refuse(provider, profile, "invalid_request", "the body must be JSON")
        problem = self.client_problem(profile, fields)
        if problem:
            return self.refuse(provider, profile, "invalid_client", problem, 401)
        grant = fields.get("grant_type")
        with STATE.lock:
            if grant == "authorization_code":
                issued = STATE.codes.pop(fields.get("code", ""), None)
                if not issued or issued[0] != provider or issued[1] != fields.get("redirect_uri"):
                    issued = None
                elif issued[2]:
                    verifier = fields.get("code_verifier", "")
                    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
                    if digest.decode() != issued[2]:
                        issued = None
                if issued:
                    STATE.counts[provider]["exchanges"] += 1
                old_refresh = None
            elif grant == "refresh_token":
                old_refresh = fields.get("refresh_token", "")
                issued = STATE.refresh.get(old_refresh) == provider and profile.get("refresh")
                if issued:
                    STATE.counts[provider]["refreshes"] += 1
            else:
                return self.refuse(provider, profile, "unsupported_grant_type", grant or "none")
        if not issued:
            return self.refuse(provider, profile, "invalid_grant", "the code or refresh token is not valid")
        access = new_token(provider, "access")
        answer = {"access_token": access, "token_type": "bearer"}
        with STATE.lock:
            STATE.access[access] = provider
            if profile.get("refresh"):
                if old_refresh is None or profile.get("rotate"):
                    refresh = new_token(provider, "refresh")
                    STATE.refresh[refresh] = provider
                    if old_refresh is not None:
                        STATE.refresh.pop(old_refresh, None)
                    answer["refresh_token"] = refresh
                elif profile.get("resend"):
                    answer["refresh_token"] = old_refresh
        expires = profile.get("expires")
        expiry = profile.get("expiry", "expires_in")
        if expiry == "zero":
            answer["expires_in"] = 0
        elif expires is not None:
            answer["expires_in"] = expires
            if expiry == "expires_at":
                answer["expires_at"] = int(time.time()) + expires
        for name, value in profile.get("extra", {}).items():
            if isinstance(value, str):
                value = value.replace("{base}", self.base(provider)).replace("{access_token}", access)
            answer[name] = value
        self.answer(200, answer)

    def revoke(self, provider, fields):
        token = fields.get("token", "")
        with STATE.lock:
            STATE.access.pop(token, None)
            STATE.refresh.pop(token, None)
            STATE.counts[provider]["revocations"] += 1
        self.answer(200, {})

    def api_call(self, provider):
        with STATE.lock:
            live = [token for token, owner in STATE.access.items() if owner == provider]
        carried = " ".join(value for name, value in self.headers.items())
        token = next((token for token in live if token in carried), None)
        if token is None:
            return self.answer(401, {"error": "invalid_token", "message": "no live access token in the request"})
        self.answer(200, {"provider": provider, "path": urllib.parse.urlsplit(self.path).path, "token": token})

    def test_control(self, provider, action):
        if provider not in PROVIDERS:
            return self.answer(404, {"error": "no such emulated provider"})
        with STATE.lock:
            if action in ("revoke-all", "expire-access"):
                tables = (STATE.access, STATE.refresh) if action == "revoke-all" else (STATE.access,)
                for table in tables:
                    for token in [token for token, owner in table.items() if owner == provider]:
                        del table[token]
                return self.answer(200, {})
            if action == "profile":
                return self.answer(200, PROVIDERS[provider])
            if action == "counts":
                return self.answer(200, STATE.counts[provider])
        self.answer(404, {"error": "unknown control"})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


if __name__ == "__main__":
    serve(Handler, "PROVIDER_EMULATOR_READY")
