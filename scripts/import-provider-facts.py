#!/usr/bin/env python3
"""Turns the provider endpoint facts into Tether element definitions (server/catalog/providers.json).

Usage: scripts/import-provider-facts.py [path/to/provider-facts.json]

Imported: OAUTH2 providers that authorize through a URL, OAUTH2_CC ones with a token endpoint, OAUTH1 ones (their
request-token endpoints from a table below), and BASIC and API_KEY ones whose credentials go in a header, a query
parameter, the body (a table below) or an AWS Signature Version 4. Elements whose Cloud Elements key differs from
the provider key are renamed here, and the provider key becomes an alias.
"""
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FACTS = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "reference" / "provider-facts.json"
OUT = ROOT / "server" / "catalog" / "providers.json"
# The facts' own OAuth 2.0 URLs, kept so a test can compare the shipped catalog with them.
FIXTURE = ROOT / "server" / "tests" / "fixtures" / "oauth2-endpoints.json"
CLIENT_CREDENTIALS_FIXTURE = ROOT / "server" / "tests" / "fixtures" / "client-credentials-endpoints.json"
# Every provider of the facts with its API base URL (null when the facts give none), for the catalog-wide test.
BASE_URLS_FIXTURE = ROOT / "server" / "tests" / "fixtures" / "provider-base-urls.json"

# Provider key -> Cloud Elements key, where Cloud Elements used another name for the same endpoints.
RENAMES = {"salesforce": "sfdc"}

# The first matching category names the hub.
HUBS = [
    ("crm", "crm"), ("marketing", "marketing"), ("support", "helpdesk"), ("ticketing", "helpdesk"),
    ("storage", "documents"), ("knowledge-base", "documents"), ("accounting", "finance"), ("invoicing", "finance"),
    ("payment", "finance"), ("banking", "finance"), ("e-commerce", "ecommerce"), ("communication", "messaging"),
    ("hr", "humancapital"), ("ats", "humancapital"), ("erp", "erp"), ("social", "social"), ("analytics", "analytics"),
    ("surveys", "marketing"), ("cms", "documents"), ("design", "collaboration"), ("video", "collaboration"),
    ("productivity", "collaboration"), ("legal", "documents"), ("iam", "security"), ("dev-tools", "devtools"),
]
HUB_WORDS = {
    "crm": "customer records", "marketing": "marketing", "helpdesk": "help desk", "documents": "documents and files",
    "finance": "finance", "ecommerce": "commerce", "messaging": "messaging", "humancapital": "people and hiring",
    "erp": "ERP", "social": "social", "analytics": "analytics", "collaboration": "collaboration",
    "security": "identity", "devtools": "developer tools", "general": "general",
}
PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")

# Standard OAuth 2.0 parameters Tether sends itself: a copy in the facts with the same value is left out, so the
# provider never gets the name twice. A `scope` among the authorization parameters is the element's default scope.
STANDARD_PARAMS = {
    "authorization_params": {"response_type": "code"},
    "token_params": {"grant_type": "authorization_code"},
    "refresh_params": {"grant_type": "refresh_token"},
}
# Where API-key providers whose facts name no header take the key, from each provider's own API documentation:
# a query parameter, or a member of the JSON request body.
KEY_PLACEMENTS = {
    "builtwith": {"in": "query", "name": "KEY"},
    "canny": {"in": "json", "name": "apiKey"},
    "diffbot": {"in": "query", "name": "token"},
    "ghost-content": {"in": "query", "name": "key"},
    "google-gemini": {"in": "query", "name": "key"},
    "google-maps": {"in": "query", "name": "key"},
    "mandrill": {"in": "json", "name": "key"},
    "millionverifier": {"in": "query", "name": "api"},
    "scrapedo": {"in": "query", "name": "token"},
    "semrush": {"in": "query", "name": "key"},
    "builder-io-public": {"in": "query", "name": "apiKey"},
    "cal-com-v1": {"in": "query", "name": "apiKey"},
    "jazzhr": {"in": "query", "name": "apikey"},
    "peopledatalabs": {"in": "header", "name": "X-Api-Key"},
    "prtg-classic": {"in": "query", "name": "apitoken"},
    "smartlead-ai": {"in": "query", "name": "api_key"},
    "webinarjam": {"in": "form", "name": "api_key"},
    "lagrowthmachine": {"in": "query", "name": "apikey"},
    "upsales": {"in": "query", "name": "token"},
    # Providers that take more than the key, each value where its documentation puts it.
    "adyntel": [{"in": "json", "name": "api_key", "value": "{apiKey}"},
                {"in": "json", "name": "email", "value": "{email}"}],
    "pipelinecrm": [{"in": "query", "name": "api_key", "value": "{apiKey}"},
                    {"in": "query", "name": "app_key", "value": "{appKey}"}],
    "fiber-ai": [{"in": "query", "name": "apiKey", "value": "{apiKey}", "methods": ["GET", "DELETE"]},
                 {"in": "json", "name": "apiKey", "value": "{apiKey}", "methods": ["POST", "PUT", "PATCH"]}],
    "sage-member": [{"in": "json", "name": "auth.acctId", "value": "{acctId}"},
                    {"in": "json", "name": "auth.loginId", "value": "{loginId}"},
                    {"in": "json", "name": "auth.key", "value": "{apiKey}"}],
}
# Basic-auth providers whose facts name no credential fields take a username and a password; where the provider's
# documentation fixes the username, it is the default (Mailgun's is `api`, the password being the API key).
BASIC_USERNAMES = {"mailgun": "api"}
BASIC_FIELDS = {"username": {"label": "Username"}, "password": {"label": "Password", "secret": True}}

# OAuth 1.0a providers' request-token endpoints (RFC 5849's temporary credentials), which the facts do not list,
# from each provider's own API documentation.
REQUEST_TOKEN_URLS = {
    "garmin": "https://connectapi.garmin.com/oauth-service/oauth/request_token",
    "smugmug": "https://api.smugmug.com/services/oauth/1.0a/getRequestToken",
    "trello": "https://trello.com/1/OAuthGetRequestToken",
    "twitter": "https://api.twitter.com/oauth/request_token",
}
OAUTH1_FIXTURE = ROOT / "server" / "tests" / "fixtures" / "oauth1-endpoints.json"

# `${awsSigV4(${credentials.username}, ${credentials.password}, REGION, SERVICE[, HOST])}`: the region and service
# a provider's requests are signed for. Its username and password become AWS's access key id and secret key.
AWS_SIGV4 = re.compile(r"^\$\{awsSigV4\(\$\{credentials\.username\}, \$\{credentials\.password\}, ([^,]+), ([^,)]+)")
AWS_HEADERS_SET_BY_SIGNING = ("authorization", "x-amz-date")
AWS_PARAMETERS = [
    {"key": "accessKeyId", "label": "AWS Access Key ID", "type": "text", "required": True, "secret": False},
    {"key": "secretAccessKey", "label": "AWS Secret Access Key", "type": "password", "required": True,
     "secret": True},
    {"key": "sessionToken", "label": "AWS Session Token (temporary credentials only)", "type": "password",
     "required": False, "secret": True},
]

# Duo's own request signature (`Basic ${base64(${credentials.username}:${hmacSha1Hex(${now:…}\n${method}…)})}` with
# its `date` header): the `duo` placement, which makes both.
DUO_SIGNATURE = re.compile(r"^Basic \$\{base64\(\$\{credentials\.username\}:\$\{hmacSha1Hex\(\$\{now:")
DUO_HEADERS_SET_BY_SIGNING = ("authorization", "date")

# What Tether sends itself in a client credentials token request.
CLIENT_CREDENTIALS_STANDARD = {"grant_type": "client_credentials"}
# A client-credentials provider's client id and secret are the instance's oauth.api.key and oauth.api.secret.
CLIENT_FIELDS = ("client_id", "client_secret")



def hub_of(categories):
    for category, hub in HUBS:
        if category in categories:
            return hub
    return "general"


# Values Tether fills itself: the OAuth app's client id and secret, and a fresh random value.
BUILT_IN = ("clientId", "clientSecret", "random")


def template(value, names=()):
    """`${connectionConfig.x}` -> `{x}`; `A || B` -> ["A", "B"] (the first whose placeholders are all set).

    `names` are the other placeholders allowed here: credentials and instance parameters named without a prefix.
    """
    if value is None:
        return None

    def one(text):
        def swap(match):
            name = match.group(1)
            if name.startswith("connectionConfig."):
                return "{" + name[len("connectionConfig."):] + "}"
            if name.startswith("credentials.") and name[len("credentials."):] in names:
                return "{" + name[len("credentials."):] + "}"
            if name in names or name in BUILT_IN:
                return "{" + name + "}"
            raise ValueError(f"unknown placeholder {name}")
        return PLACEHOLDER.sub(swap, text.strip())

    parts = [one(part) for part in str(value).split("||")]
    return parts[0] if len(parts) == 1 else parts


def usable_pattern(pattern):
    """The pattern, or None when it does not compile (some facts carry patterns written for another engine)."""
    try:
        re.compile(pattern)
        return pattern
    except re.error:
        return None


def parameters(facts):
    result = []
    for key, spec in (facts.get("instance_params") or {}).items():
        kind = "url" if spec.get("format") == "uri" else ("choice" if spec.get("enum") else "text")
        parameter = {"key": key, "label": spec.get("label") or key, "type": kind, "required": not spec.get("optional", False)}
        for source, target in (("prefix", "prefix"), ("suffix", "suffix"), ("default_value", "default")):
            if spec.get(source):
                parameter[target] = spec[source]
        if spec.get("pattern") and usable_pattern(spec["pattern"]):
            parameter["pattern"] = spec["pattern"]
        if spec.get("enum"):
            parameter["options"] = spec["enum"]
        result.append(parameter)
    return result


def credential_parameters(facts):
    result = []
    for key, spec in (facts.get("credential_fields") or {}).items():
        secret = key in ("password", "apiKey") or bool(spec.get("secret"))
        parameter = {"key": key, "label": spec.get("label") or key, "type": "password" if secret else "text",
                     "required": True, "secret": secret}
        if spec.get("pattern") and usable_pattern(spec["pattern"]):
            parameter["pattern"] = spec["pattern"]
        result.append(parameter)
    return result


# `${base64(…)}` in a header's value: what is encoded, and the text around it.
BASE64 = re.compile(r"^(.*?)\$\{base64\((.*)\)\}(.*)$", re.S)


def split_outside_placeholders(text, separator):
    """`text` cut at the first `separator` that lies outside every `${…}`, or None."""
    depth = 0
    for index, char in enumerate(text):
        if text.startswith("${", index):
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        elif char == separator and not depth:
            return text[:index], text[index + 1:]
    return None


def header_credentials(name, value, names):
    """A header whose value holds `${base64(…)}`: basic credentials made of templates, or a header sent
    base64-encoded; None for any other header."""
    match = BASE64.match(value)
    if not match:
        return None
    before, encoded, after = match.groups()
    if name.lower() == "authorization" and before == "Basic " and not after:
        halves = split_outside_placeholders(encoded, ":")
        if halves is None:
            raise ValueError("basic credentials without a colon")
        username, password = (template(half, names) for half in halves)
        placement = {"in": "basic"}
        if username != "{username}":
            placement["username"] = username
        if password != "{password}":
            placement["password"] = password
        return placement
    if before or after:
        raise ValueError(f"{name}: text around base64")
    return {"in": "header", "name": name, "value": template(encoded, names), "encoding": "base64"}


def path_credentials(base_url, credential_names):
    """A base URL whose last path segment holds a credential (Telegram's `/bot${apiKey}`): the base URL without
    that segment, and the segment as a path placement; None when the credentials are not in the URL."""
    if not base_url or not any("${" + name + "}" in base_url for name in credential_names):
        return None
    base, segment = base_url.rstrip("/").rsplit("/", 1)
    if any("${" + name + "}" in base for name in credential_names):
        raise ValueError("credentials in the base URL outside its last segment")
    return base, {"in": "path", "value": template(segment, credential_names)}


def api(facts, credential_names, default_credentials):
    headers = {}
    credentials = default_credentials
    instance_names = tuple((facts.get("instance_params") or {}).keys())
    base_url = facts.get("base_url")
    in_path = path_credentials(base_url, credential_names)
    if in_path:
        base_url, credentials = in_path
    for name, value in (facts.get("proxy_headers") or {}).items():
        if name.lower() == "user-agent":
            # A fixed user agent in the facts names the tool they came from; Tether sends its own name.
            value = " || ".join(part if "${" in part else "Tether" for part in value.split("||"))
        encoded = header_credentials(name, value, credential_names + instance_names)
        if encoded:
            credentials = encoded
            continue
        text = template(value, credential_names + instance_names)
        uses_credentials = any("{" + c + "}" in json.dumps(text) for c in credential_names)
        if name.lower() == "authorization" and uses_credentials:
            credentials = {"in": "header", "name": "Authorization", "value": text}
        elif uses_credentials and credentials == default_credentials:
            credentials = {"in": "header", "name": name, "value": text}
        else:
            headers[name] = text
    result = {"baseUrl": template(base_url, instance_names), "credentials": credentials}
    if headers:
        result["headers"] = headers
    return result


def verification(facts, names):
    """The facts' check of new credentials as `api.verify`, or None when it cannot be one (another base URL, or
    placeholders the instance does not hold)."""
    check = facts.get("verification")
    if not check or check.get("base_url_override") or not check.get("endpoints"):
        return None
    try:
        path = template(check["endpoints"][0], names)
    except ValueError:
        return None
    if not isinstance(path, str):
        return None
    verify = {"path": path}
    if check.get("method", "GET") != "GET":
        verify["method"] = check["method"]
    headers = {name: str(value) for name, value in (check.get("headers") or {}).items() if "${" not in str(value)}
    if headers:
        verify["headers"] = headers
    if check.get("data") is not None:
        verify["body"] = check["data"]
    return verify


def element(key, facts):
    if facts["auth"] == "OAUTH2" and not (facts.get("authorization_url") and facts.get("token_url")):
        return None  # installed through the provider's own flow, not an authorization URL
    hub = hub_of(facts["categories"])
    instance_names = tuple((facts.get("instance_params") or {}).keys())
    auth = facts["auth"]
    definition = {
        "key": RENAMES.get(key, key),
        "name": facts["name"],
        "hub": hub,
        "description": f"Connects {facts['name']} accounts to the {HUB_WORDS[hub]} hub.",
        "popular": "popular" in facts["categories"],
    }
    if key in RENAMES:
        definition["aliases"] = [key]
    if auth == "OAUTH2_CC":
        if not facts.get("token_url"):
            return None  # no token endpoint to ask
        oauth = {
            "tokenUrl": template(facts["token_url"], instance_names),
            "scopes": facts.get("default_scopes") or [],
            "scopeSeparator": facts.get("scope_separator", " "),
            "tokenAuth": "basic" if facts.get("token_request_auth_method") == "basic" else "form",
            "tokenBody": "json" if facts.get("body_format") == "json" else "form",
        }
        given = {k: v for k, v in (facts.get("token_params") or {}).items()
                 if CLIENT_CREDENTIALS_STANDARD.get(k) != str(v)}
        extra_credentials = [p for p in credential_parameters(facts) if p["key"] not in CLIENT_FIELDS]
        names = instance_names + tuple(p["key"] for p in extra_credentials)
        if given:
            oauth["tokenParams"] = {k: template(str(v), names) for k, v in given.items()}
        if facts.get("token_response_metadata"):
            oauth["capture"] = facts["token_response_metadata"]
        definition["auth"] = "clientCredentials"
        definition["oauth"] = oauth
        definition["api"] = api(facts, ("accessToken",), {"in": "bearer"})
        secret_keys = {p["key"] for p in extra_credentials}
        definition["parameters"] = [p for p in parameters(facts) if p["key"] not in secret_keys] + extra_credentials
    elif auth == "OAUTH1":
        if key not in REQUEST_TOKEN_URLS:
            return None  # no request-token endpoint known
        oauth = {
            "requestTokenUrl": REQUEST_TOKEN_URLS[key],
            "authorizationUrl": template(facts["authorization_url"], instance_names),
            "tokenUrl": template(facts["token_url"], instance_names),
            "scopes": facts.get("default_scopes") or [],
            "scopeSeparator": facts.get("scope_separator", " "),
        }
        if facts.get("authorization_params"):
            oauth["authorizationParams"] = {k: template(str(v), instance_names)
                                            for k, v in facts["authorization_params"].items()}
        definition["auth"] = "oauth1"
        definition["oauth"] = oauth
        definition["api"] = api(facts, (), {"in": "oauth1"})
        definition["parameters"] = parameters(facts)
    elif auth == "BASIC" and AWS_SIGV4.match((facts.get("proxy_headers") or {}).get("authorization", "")):
        region, service = AWS_SIGV4.match(facts["proxy_headers"]["authorization"]).groups()
        signing = {"in": "awsSigV4", "service": template(service.strip(), instance_names),
                   "region": template(region.strip(), instance_names)}
        unsigned = {name: value for name, value in facts["proxy_headers"].items()
                    if name.lower() not in AWS_HEADERS_SET_BY_SIGNING}
        definition["auth"] = "basic"
        definition["api"] = api(dict(facts, proxy_headers=unsigned), (), signing)
        definition["parameters"] = parameters(facts) + AWS_PARAMETERS
    elif auth == "BASIC" and DUO_SIGNATURE.match((facts.get("proxy_headers") or {}).get("authorization", "")):
        unsigned = {name: value for name, value in facts["proxy_headers"].items()
                    if name.lower() not in DUO_HEADERS_SET_BY_SIGNING}
        definition["auth"] = "basic"
        definition["api"] = api(dict(facts, proxy_headers=unsigned), (), {"in": "duo"})
        definition["parameters"] = parameters(facts) + credential_parameters(facts)
    elif auth == "OAUTH2":
        oauth = {
            "authorizationUrl": template(facts["authorization_url"], instance_names),
            "tokenUrl": template(facts["token_url"], instance_names),
            "scopes": facts.get("default_scopes") or [],
            "scopeSeparator": facts.get("scope_separator", " "),
            "tokenAuth": "basic" if facts.get("token_request_auth_method") == "basic" else "form",
            "tokenBody": "json" if facts.get("body_format") == "json" else "form",
            "pkce": not facts.get("disable_pkce", False),
        }
        if facts.get("refresh_url"):
            oauth["refreshUrl"] = template(facts["refresh_url"], instance_names)
        for source, target in (("authorization_params", "authorizationParams"), ("token_params", "tokenParams"),
                               ("refresh_params", "refreshParams")):
            given = dict(facts.get(source) or {})
            if source == "authorization_params" and "scope" in given and not oauth["scopes"]:
                oauth["scopes"] = [str(given.pop("scope"))]
            given = {k: v for k, v in given.items() if STANDARD_PARAMS[source].get(k) != str(v)}
            if given:
                oauth[target] = {k: template(str(v), instance_names) for k, v in given.items()}
        if facts.get("token_response_metadata"):
            oauth["capture"] = facts["token_response_metadata"]
        definition["auth"] = "oauth2"
        definition["oauth"] = oauth
        credential_names = ("accessToken",)
        definition["api"] = api(facts, credential_names, {"in": "bearer"})
        definition["parameters"] = parameters(facts)
    else:
        if auth == "BASIC" and not facts.get("credential_fields"):
            facts = dict(facts, credential_fields=BASIC_FIELDS)
        credential_names = tuple((facts.get("credential_fields") or {}).keys())
        if auth == "BASIC" and not {"username", "password"} <= set(credential_names):
            return None  # basic authentication without both halves of the credentials
        default = {"in": "basic"} if auth == "BASIC" else None
        if isinstance(KEY_PLACEMENTS.get(key), list):
            default = KEY_PLACEMENTS[key]
        elif key in KEY_PLACEMENTS and credential_names:
            default = dict(KEY_PLACEMENTS[key], value="{" + credential_names[0] + "}")
        definition["auth"] = "basic" if auth == "BASIC" else "apiKey"
        definition["api"] = api(facts, credential_names, default)
        if definition["api"]["credentials"] is None:
            return None  # the key goes somewhere the facts do not say
        credentials = credential_parameters(facts)
        for parameter in credentials:
            if parameter["key"] == "username" and key in BASIC_USERNAMES:
                parameter["default"] = BASIC_USERNAMES[key]
        secret_keys = {parameter["key"] for parameter in credentials}
        definition["parameters"] = [p for p in parameters(facts) if p["key"] not in secret_keys] + credentials
    if auth in ("OAUTH2_CC", "BASIC", "API_KEY"):
        names = instance_names + tuple(p["key"] for p in definition["parameters"])
        verify = verification(facts, names)
        if verify:
            definition["api"]["verify"] = verify
    # A captured token field used in a URL is filled from the token response, not asked of the user.
    captured = set(definition.get("oauth", {}).get("capture", []))
    definition["parameters"] = [p for p in definition["parameters"] if p["key"] not in captured]
    definition["events"] = {"support": "none"}
    return definition


def main():
    facts = json.loads(FACTS.read_text())
    elements, skipped = [], []
    for key in sorted(facts):
        if facts[key]["auth"] not in ("OAUTH2", "OAUTH2_CC", "OAUTH1", "BASIC", "API_KEY") or not facts[key].get("base_url"):
            skipped.append(key)
            continue
        try:
            made = element(key, facts[key])
        except (KeyError, ValueError) as problem:
            made = None
            print(f"skipping {key}: {problem}", file=sys.stderr)
        if made is None:
            skipped.append(key)
        else:
            elements.append(made)
    OUT.write_text(json.dumps({"elements": elements}, indent=1, ensure_ascii=False) + "\n")
    endpoints = {key: {"authorization_url": value["authorization_url"], "token_url": value["token_url"]}
                 for key, value in sorted(facts.items())
                 if value["auth"] == "OAUTH2" and value.get("authorization_url") and value.get("token_url")}
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_text(json.dumps(endpoints, indent=1) + "\n")
    token_urls = {key: value["token_url"] for key, value in sorted(facts.items())
                  if value["auth"] == "OAUTH2_CC" and value.get("token_url") and value.get("base_url")}
    CLIENT_CREDENTIALS_FIXTURE.write_text(json.dumps(token_urls, indent=1) + "\n")
    oauth1 = {key: {"authorization_url": value["authorization_url"], "token_url": value["token_url"]}
              for key, value in sorted(facts.items()) if value["auth"] == "OAUTH1"}
    OAUTH1_FIXTURE.write_text(json.dumps(oauth1, indent=1) + "\n")
    base_urls = {key: value.get("base_url") for key, value in sorted(facts.items())}
    BASE_URLS_FIXTURE.write_text(json.dumps(base_urls, indent=1) + "\n")
    print(f"wrote {len(elements)} elements to {OUT.relative_to(ROOT)}; left out {len(skipped)}")


if __name__ == "__main__":
    main()
