// A real OAuth 2.0 / OpenID Connect provider (npm oidc-provider) on a free loopback port, for Tether's tests.
//
// Settings come from the environment:
//   OAUTH_PORT            port to listen on (default 0: any free port)
//   OAUTH_REDIRECT_URIS   comma-separated redirect URIs the test clients may use
//   OAUTH_PKCE_REQUIRED   "true" to refuse authorization requests without a PKCE challenge
//   OAUTH_ACCESS_TTL      access token lifetime in seconds (default 3600)
//   OAUTH_REFRESHED_ACCESS_TTL
//                         lifetime of access tokens issued by the refresh grant (default OAUTH_ACCESS_TTL), so a
//                         test can start from a token that expires soon without the refreshed one expiring too
// Two clients exist: `tether-post` (secret in the token request body) and `tether-basic` (HTTP basic), both with
// the secret `tether-test-secret`. A third, `tether-machine` (same secret, in the body), may use only the client
// credentials grant, for the scope `api`; its tokens live OAUTH_CC_TTL seconds (default 3600), and
// GET /test/api/me answers {"client", "scope"} for a live one in `Authorization: Bearer …`, else 401. Any login and password are accepted on the provider's own sign-in page.
// When it listens it prints `OAUTH_PROVIDER_READY <issuer>`; it stops on SIGTERM. GET /test/grants counts the
// token requests per grant type, so tests can tell how many refreshes reached the provider.
// An outage of the token endpoint can be staged: PUT /test/token-outage with {"status": 503, "retryAfter": 2}
// (retryAfter optional; `error` names the OAuth error, temporarily_unavailable by default) makes POST /token
// answer that status until DELETE /test/token-outage, and
// GET /test/token-outage lists when each refused token request arrived (Unix milliseconds).
// Token requests can be held in flight: after PUT /test/token-hold, POST /token requests wait, unanswered, until
// DELETE /test/token-hold passes them on to the provider. A held request whose client goes away meanwhile (a
// client killed mid-request) never reaches the provider's token logic. GET /test/token-hold answers
// {"held": n, "dropped": n}.
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const redirectUris = (process.env.OAUTH_REDIRECT_URIS ?? 'http://127.0.0.1/callback').split(',').map((uri) => uri.trim());
const pkceRequired = process.env.OAUTH_PKCE_REQUIRED === 'true';
const accessTtl = Number(process.env.OAUTH_ACCESS_TTL ?? 3600);
const refreshedAccessTtl = Number(process.env.OAUTH_REFRESHED_ACCESS_TTL ?? accessTtl);
const clientCredentialsTtl = Number(process.env.OAUTH_CC_TTL ?? 3600);
const secret = 'tether-test-secret';

const client = (id, method) => ({
  client_id: id,
  client_secret: secret,
  redirect_uris: redirectUris,
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: method,
});

const server = createServer();
await new Promise((resolve) => server.listen(Number(process.env.OAUTH_PORT ?? 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    client('tether-post', 'client_secret_post'),
    client('tether-basic', 'client_secret_basic'),
    {
      client_id: 'tether-machine',
      client_secret: secret,
      redirect_uris: [],
      response_types: [],
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'api',
    },
  ],
  cookies: { keys: ['tether-test-cookie-key'] },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    clientCredentials: { enabled: true },
  },
  pkce: { required: () => pkceRequired },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api'],
  issueRefreshToken: async (ctx, client, code) =>
    client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  rotateRefreshToken: true,
  // Tokens expire exactly when their lifetime ends, so tests of expiry need not wait out a tolerance.
  clockTolerance: 0,
  ttl: {
    AccessToken: (ctx) => (ctx?.oidc?.params?.grant_type === 'refresh_token' ? refreshedAccessTtl : accessTtl),
    AuthorizationCode: 60,
    ClientCredentials: clientCredentialsTtl,
    RefreshToken: 14 * 24 * 3600,
    Interaction: 600,
    Session: 3600,
    Grant: 14 * 24 * 3600,
  },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id, email: `${id}@example.test` }) }),
});
provider.proxy = false;

// How many token requests of each grant type arrived, succeeded or not: GET /test/grants.
const grants = {};
const countGrant = (ctx) => {
  const type = ctx.oidc?.params?.grant_type;
  if (type) grants[type] = (grants[type] ?? 0) + 1;
};
provider.on('grant.success', countGrant);
provider.on('grant.error', countGrant);
const handle = provider.callback();
let outage = null;
const refusedAt = [];
let holding = false;
const held = new Set();
let dropped = 0;
const hold = (req, res) => {
  const waiting = { req, res };
  held.add(waiting);
  res.on('close', () => {
    if (held.delete(waiting)) dropped += 1;
  });
};
const json = (res, status, value) => {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(value));
};
const readJson = (req) =>
  new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString() || '{}'));
      } catch (error) {
        reject(error);
      }
    });
  });
server.on('request', async (req, res) => {
  if (req.method === 'GET' && req.url === '/test/grants') return json(res, 200, grants);
  if (req.method === 'GET' && req.url === '/test/api/me') {
    const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const token = bearer ? await provider.ClientCredentials.find(bearer) : undefined;
    if (!token) return json(res, 401, { error: 'invalid_token' });
    return json(res, 200, { client: token.clientId, scope: token.scope });
  }
  if (req.url === '/test/token-outage') {
    if (req.method === 'GET') return json(res, 200, { refusedAt });
    if (req.method === 'DELETE') {
      outage = null;
      return json(res, 200, {});
    }
    if (req.method === 'PUT') {
      try {
        const body = await readJson(req);
        if (!Number.isInteger(body.status) || body.status < 400) return json(res, 400, { error: 'status: an HTTP error status' });
        outage = { status: body.status, retryAfter: body.retryAfter, error: body.error ?? 'temporarily_unavailable' };
        return json(res, 200, outage);
      } catch {
        return json(res, 400, { error: 'a JSON body' });
      }
    }
  }
  if (req.url === '/test/token-hold') {
    if (req.method === 'PUT') holding = true;
    if (req.method === 'DELETE') {
      holding = false;
      const waiting = [...held];
      held.clear();
      waiting.forEach(({ req: heldReq, res: heldRes }) => handle(heldReq, heldRes));
    }
    return json(res, 200, { held: held.size, dropped });
  }
  if (holding && req.method === 'POST' && req.url === '/token') return hold(req, res);
  if (outage && req.method === 'POST' && req.url === '/token') {
    refusedAt.push(Date.now());
    if (outage.retryAfter !== undefined) res.setHeader('retry-after', String(outage.retryAfter));
    req.resume();
    return json(res, outage.status, { error: outage.error, error_description: 'staged outage' });
  }
  handle(req, res);
});
process.stdout.write(`OAUTH_PROVIDER_READY ${issuer}\n`);

// Kept-alive client connections would hold `close` open; they are cut too.
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
