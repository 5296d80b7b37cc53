// A local OpenID provider for the tests and the demo: panva/oidc-provider v9 on 127.0.0.1.
//
// What it adds to the stock provider, so the client is really exercised (see README "Test provider"):
//   - S256 PKCE is required on the device authorization grant (stock oidc-provider ignores it there);
//   - the device authorization answer carries an `interval`, and a poll faster than it gets `slow_down`
//     (which adds 5 s to that device code's interval, RFC 8628 section 3.5);
//   - `GET /_test/stats` counts token requests per grant type (and device authorizations as
//     `device_authorization`), so tests can count refreshes and device logins;
//   - the client `openeo-service-post` must authenticate with client_secret_post, never HTTP Basic;
//   - with RECORD_TOKENS=1 (tests only, never the demo), `GET /_test/issued` lists every access token,
//     refresh token and device code it issued: canaries for tests that scan notebooks and logs.
// Configuration comes from the environment (all optional):
//   PORT (required), ACCESS_TOKEN_TTL (s), DEVICE_CODE_TTL (s), DEVICE_INTERVAL (s),
//   STATE_FILE (keep codes, tokens and grants in this JSON file, so a restarted provider knows them),
//   RECORD_TOKENS,
//   BASE_PATH (serve everything under this path, which becomes the issuer's path: for a provider that a
//   browser reaches through a proxy keeping the path, as jupyter-server-proxy's /proxy/absolute/PORT/ on Binder).
// It also offers the resource-owner password grant to the client `openeo-password` (Terrascope's Keycloak
// does; stock oidc-provider does not).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import querystring from 'node:querystring';

// oidc-provider warns "Unsupported runtime. Use Node.js v22.x LTS" on Node.js 20 when it is imported; for
// this local provider Node.js 20 is enough (the README says so), so say that first.
if (Number(process.versions.node.split('.')[0]) < 22) {
  console.warn(
    `Node.js ${process.versions.node} runs this local test provider fine; the "Unsupported runtime" warning ` +
      'that follows is oidc-provider\'s advice for production servers.'
  );
}
const { default: Provider, errors } = await import('oidc-provider');

const env = process.env;
const PORT = Number(env.PORT);
if (!PORT) {
  process.stderr.write('Set PORT to the port the provider should listen on.\n');
  process.exit(2);
}
const ACCESS_TOKEN_TTL = Number(env.ACCESS_TOKEN_TTL || 3600);
const DEVICE_CODE_TTL = Number(env.DEVICE_CODE_TTL || 600);
const SHORT_DEVICE_CODE_TTL = 3;
const DEVICE_INTERVAL = Number(env.DEVICE_INTERVAL || 5);
const BASE_PATH = (env.BASE_PATH || '').replace(/\/+$/, '');

export const ACCOUNTS = {
  alice: { password: 'alice-password', name: 'Alice Liddell', email: 'alice@example.org' },
  bob: { password: 'bob-password', name: 'Bob Builder', email: 'bob@example.org' },
  // The openeo-driver dummy back-end refuses every user id containing "mark" ("No access for Mark."): a user
  // who can log in at the provider but whose account the back-end does not accept. Their name is HTML that
  // would run if a view did not escape it.
  mark: { password: 'mark-password', name: 'Mark <img src=x onerror="window.__pwned=1">', email: 'mark@example.org' },
};

// With GENERATED_USERS=1 (the hub benchmark; never the demo), userN / userN-password exist for any N.
const GENERATED_USERS = env.GENERATED_USERS === '1';
const account = (id) =>
  Object.hasOwn(ACCOUNTS, id)
    ? ACCOUNTS[id]
    : GENERATED_USERS && /^user\d{1,5}$/.test(id)
      ? { password: `${id}-password`, name: `User ${id.slice(4)}`, email: `${id}@example.org` }
      : undefined;

const deviceGrants = ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'];
const publicClient = (clientId, clientName) => ({
  client_id: clientId,
  client_name: clientName,
  token_endpoint_auth_method: 'none',
  grant_types: deviceGrants,
  response_types: [],
  redirect_uris: [],
});

const clients = [
  publicClient('openeo-public', 'openEO'),
  publicClient('openeo-norotate', 'openEO (tests)'),
  publicClient('openeo-shortcode', 'openEO (device codes expire after 3 s)'),
  // A provider gone bad: its device answers point at javascript: URIs. Clients must refuse to show them.
  publicClient('openeo-malicious', 'openEO (malicious verification URIs)'),
  {
    // A user's own confidential device client (what `openeo-auth add-oidc` saves with a secret).
    ...publicClient('openeo-confidential', 'openEO (confidential)'),
    client_secret: env.CONFIDENTIAL_CLIENT_SECRET || 'confidential-secret-canary-5f1c',
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    client_id: 'openeo-service',
    client_secret: env.SERVICE_CLIENT_SECRET || 'service-secret+0123/%89:x',
    client_name: 'openEO service account',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  },
  {
    // The same service account for a provider that takes the secret only in the form body (stock
    // oidc-provider accepts either way; `refuseBasicAuth` below makes it strict, as some providers are).
    client_id: 'openeo-service-post',
    client_secret: env.SERVICE_CLIENT_SECRET || 'service-secret+0123/%89:x',
    client_name: 'openEO service account (client_secret_post)',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  },
];

clients.push({
  client_id: 'openeo-password',
  client_name: 'openEO (password grant)',
  token_endpoint_auth_method: 'none',
  grant_types: ['password', 'refresh_token'],
  response_types: [],
  redirect_uris: [],
});

// A JupyterHub whose own login is this provider (OAuthenticator): a confidential authorization-code client
// for the hub's callback, when the hub test gives one.
if (env.HUB_REDIRECT_URI) {
  clients.push({
    client_id: 'jupyterhub',
    client_secret: env.HUB_CLIENT_SECRET || 'hub-secret',
    client_name: 'JupyterHub',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [env.HUB_REDIRECT_URI],
  });
}

// --- Storage: in memory, mirrored to STATE_FILE when given --------------------------------------------
const STATE_FILE = env.STATE_FILE;
const state = STATE_FILE && fs.existsSync(STATE_FILE)
  ? JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'))
  : { models: {}, devices: {} };
const deviceCodes = new Map(Object.entries(state.devices)); // device_code -> { challenge, interval, lastPoll }
const saveState = () => {
  if (!STATE_FILE) return;
  state.devices = Object.fromEntries(deviceCodes);
  fs.writeFileSync(STATE_FILE, JSON.stringify(state));
};
// Expired entries stay a minute longer, so a late poll hears `expired_token` rather than `invalid_grant`.
const EXPIRED_GRACE_MS = 60000;

// The models whose id is the secret itself (opaque tokens, device codes).
const SECRET_MODELS = ['AccessToken', 'RefreshToken', 'ClientCredentials', 'DeviceCode'];
const RECORD_TOKENS = env.RECORD_TOKENS === '1';
const issued = new Set();

class Adapter {
  constructor(name) { this.name = name; }

  key(id) { return `${this.name}:${id}`; }

  entry(key) {
    const e = state.models[key];
    if (e && e.expiresAt && e.expiresAt + EXPIRED_GRACE_MS < Date.now()) {
      delete state.models[key];
      return undefined;
    }
    return e && e.payload;
  }

  where(test) {
    return Object.keys(state.models).filter((k) => k.startsWith(`${this.name}:`))
      .map((k) => this.entry(k)).find((p) => p && test(p));
  }

  async upsert(id, payload, expiresIn) {
    if (RECORD_TOKENS && SECRET_MODELS.includes(this.name)) issued.add(id);
    state.models[this.key(id)] = { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : null };
    saveState();
  }

  async find(id) { return this.entry(this.key(id)); }

  async findByUserCode(userCode) { return this.where((p) => p.userCode === userCode); }

  async findByUid(uid) { return this.where((p) => p.uid === uid); }

  async consume(id) {
    const e = state.models[this.key(id)];
    if (e) e.payload.consumed = Math.floor(Date.now() / 1000);
    saveState();
  }

  async destroy(id) {
    delete state.models[this.key(id)];
    saveState();
  }

  async revokeByGrantId(grantId) {
    for (const [k, e] of Object.entries(state.models)) {
      if (e.payload && e.payload.grantId === grantId) delete state.models[k];
    }
    saveState();
  }
}

const html = (title, body) => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head>
<body><h1>${title}</h1>${body}</body></html>`;
// What a demo or Binder visitor sees on the login page.
const TITLE = 'Local demo provider — log in as alice / alice-password';
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const configuration = {
  adapter: Adapter,
  clients,
  clientDefaults: { grant_types: deviceGrants },
  clockTolerance: 0,
  // Put name and email in the id token too, so a client can show who logged in without a userinfo call.
  conformIdTokenClaims: false,
  findAccount: async (ctx, sub) => {
    if (!account(sub)) return undefined;
    const { name, email } = account(sub);
    return { accountId: sub, claims: async () => ({ sub, name, email, email_verified: true }) };
  },
  claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  // Refresh tokens for every client allowed to refresh, also without offline_access.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: (ctx) => ctx.oidc.client.clientId !== 'openeo-norotate',
  ttl: {
    AccessToken: ACCESS_TOKEN_TTL,
    ClientCredentials: ACCESS_TOKEN_TTL,
    DeviceCode: (ctx, token, client) => (client.clientId === 'openeo-shortcode' ? SHORT_DEVICE_CODE_TTL : DEVICE_CODE_TTL),
    Grant: 14 * 24 * 3600,
    IdToken: 3600,
    Interaction: 3600,
    RefreshToken: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    deviceFlow: {
      enabled: true,
      userCodeInputSource: async (ctx, form, out, err) => {
        if (err && err.name === 'AbortedError') {
          // Denied (or aborted) by the user: not a wrong code. The notebook or the dialog says what to do next.
          ctx.body = html('Login denied', '<p class="denied">You denied the login. You may close this page: the notebook or '
            + 'the login dialog that showed the code says so and offers a new login.</p>');
          return;
        }
        const msg = err ? `<p class="error">The code is not valid (${esc(err.name)}).</p>` : '<p>Enter the code shown on your device.</p>';
        ctx.body = html('Device login', `${msg}${form}<button type="submit" form="op.deviceInputForm">Continue</button>`);
      },
      userCodeConfirmSource: async (ctx, form, client, deviceInfo, userCode) => {
        ctx.body = html('Confirm device', `<p>${esc(client.clientName || client.clientId)} shows the code <code>${esc(userCode)}</code>.</p>${form}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`);
      },
      successSource: async (ctx) => {
        ctx.body = html('Signed in', '<p>You may close this page and return to your device.</p>');
      },
    },
  },
  interactions: { url: (ctx, interaction) => `${BASE_PATH}/interaction/${interaction.uid}` },
  cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
  jwks: undefined,
  pkce: { required: () => false },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = html('Error', `<pre>${esc(JSON.stringify(out))}</pre>`);
  },
};

const provider = new Provider(`http://127.0.0.1:${PORT}${BASE_PATH}`, configuration);
// Behind a proxy (BASE_PATH), the browser's own scheme and host come in X-Forwarded-* headers.
provider.proxy = Boolean(BASE_PATH);

// --- Device flow additions: PKCE S256, interval, slow_down -------------------------------------
const stats = {};

const b64url = (buf) => buf.toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
const oauthError = (res, status, error, description) => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error, error_description: description }));
};

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body && ctx.body.device_code) {
    ctx.body.interval = DEVICE_INTERVAL;
    if (ctx.oidc.client.clientId === 'openeo-malicious') {
      ctx.body.verification_uri = 'javascript:alert(document.cookie)';
      ctx.body.verification_uri_complete = `javascript:alert("${ctx.body.user_code}")`;
    }
    deviceCodes.set(ctx.body.device_code, {
      challenge: ctx.req.body.code_challenge, interval: DEVICE_INTERVAL * 1000, lastPoll: 0,
    });
    saveState();
  }
});

// Returns true when the request was answered here and must not reach the provider.
function checkDeviceRequest(path, body, res) {
  if (path === '/device/auth') {
    if (!body.code_challenge || body.code_challenge_method !== 'S256') {
      oauthError(res, 400, 'invalid_request', 'this provider requires PKCE with S256 on the device flow');
      return true;
    }
    return false;
  }
  if (path === '/token' && body.grant_type === 'urn:ietf:params:oauth:grant-type:device_code') {
    const entry = deviceCodes.get(body.device_code);
    if (!entry) return false; // unknown code: let the provider answer invalid_grant
    const now = Date.now();
    if (now - entry.lastPoll < entry.interval) {
      entry.interval += 5000;
      entry.lastPoll = now;
      oauthError(res, 400, 'slow_down', 'polling too fast');
      return true;
    }
    entry.lastPoll = now;
    saveState();
    const expected = b64url(crypto.createHash('sha256').update(String(body.code_verifier || '')).digest());
    if (expected !== entry.challenge) {
      oauthError(res, 400, 'invalid_grant', 'PKCE verification failed');
      return true;
    }
  }
  return false;
}

// A client registered for client_secret_post must not send its secret with HTTP Basic.
function refuseBasicAuth(req, res) {
  const [scheme, value] = String(req.headers.authorization || '').split(' ');
  if (scheme !== 'Basic') return false;
  const clientId = decodeURIComponent(Buffer.from(value || '', 'base64').toString().split(':')[0]);
  if (clientId !== 'openeo-service-post') return false;
  oauthError(res, 401, 'invalid_client', 'this client must send its secret in the form body (client_secret_post)');
  return true;
}

// --- Resource-owner password grant ------------------------------------------------------------------
provider.registerGrantType('password', async (ctx) => {
  const { username, password } = ctx.oidc.params;
  const known = account(username);
  if (!known || known.password !== password) throw new errors.InvalidGrant('wrong username or password');
  const { client } = ctx.oidc;
  const scope = String(ctx.oidc.params.scope || 'openid').split(' ').filter((x) => configuration.scopes.includes(x)).join(' ');
  const grant = new provider.Grant({ accountId: username, clientId: client.clientId });
  grant.addOIDCScope(scope);
  const grantId = await grant.save();
  const common = { accountId: username, client, grantId, scope, gty: 'password' };
  const at = new provider.AccessToken(common);
  const accessToken = await at.save();
  const rt = new provider.RefreshToken({ ...common, rotations: 0, expiresWithSession: false });
  const refreshToken = await rt.save();
  ctx.body = { access_token: accessToken, expires_in: at.expiration, token_type: 'Bearer', refresh_token: refreshToken, scope };
}, new Set(['username', 'password', 'scope']));

// --- Login and consent pages ---------------------------------------------------------------------
async function interaction(req, res, path, body) {
  const [, , uid, action] = path.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new errors.SessionNotFound('interaction mismatch');
  const { prompt, params } = details;
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html' });
    if (prompt.name === 'login') {
      res.end(html(TITLE, `<form method="post" action="${BASE_PATH}/interaction/${uid}/login">
<p><label>User <input name="login" autocomplete="username"></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password"></label></p>
<button type="submit">Log in</button></form>`));
    } else {
      res.end(html('Allow access', `<p>${esc(params.client_id)} asks for: ${esc(params.scope)}</p>
<form method="post" action="${BASE_PATH}/interaction/${uid}/confirm"><button type="submit">Allow</button></form>
<form method="post" action="${BASE_PATH}/interaction/${uid}/abort"><button type="submit">Deny</button></form>`));
    }
    return;
  }
  let result;
  if (action === 'login') {
    const known = account(body.login);
    if (!known || known.password !== body.password) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(html(TITLE, `<p class="error">Wrong user or password.</p><form method="post" action="${BASE_PATH}/interaction/${uid}/login">
<p><label>User <input name="login" autocomplete="username"></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password"></label></p>
<button type="submit">Log in</button></form>`));
      return;
    }
    result = { login: { accountId: body.login } };
  } else if (action === 'confirm') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    result = { consent: { grantId: await grant.save() } };
  } else {
    result = { error: 'access_denied', error_description: 'End-User denied access' };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

// --- HTTP server ---------------------------------------------------------------------------------
const callback = provider.callback();

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return querystring.parse(Buffer.concat(chunks).toString());
}

const server = http.createServer(async (req, res) => {
  let path = new URL(req.url, 'http://127.0.0.1').pathname;
  if (BASE_PATH) {
    if (path !== BASE_PATH && !path.startsWith(`${BASE_PATH}/`)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`This provider serves under ${BASE_PATH}/\n`);
      return;
    }
    // As a framework mounting the provider at BASE_PATH would: oidc-provider builds its links from both.
    req.originalUrl = req.url;
    req.url = req.url.slice(BASE_PATH.length);
    if (!req.url.startsWith('/')) req.url = `/${req.url}`;
    path = path.slice(BASE_PATH.length) || '/';
  }
  try {
    if (path === '/_test/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(stats));
      return;
    }
    if (path === '/_test/issued' && RECORD_TOKENS) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([...issued]));
      return;
    }
    const formPost = req.method === 'POST'
      && (req.headers['content-type'] || '').startsWith('application/x-www-form-urlencoded');
    const body = formPost ? await readBody(req) : {};
    if (formPost) req.body = body; // oidc-provider reads an already parsed body from req.body
    if (path.startsWith('/interaction/')) {
      await interaction(req, res, path, body);
      return;
    }
    if (path === '/token' || path === '/device/auth') {
      const key = path === '/token' ? body.grant_type || 'none' : 'device_authorization';
      stats[key] = (stats[key] || 0) + 1;
    }
    if (checkDeviceRequest(path, body, res) || refuseBasicAuth(req, res)) return;
    callback(req, res);
  } catch (err) {
    if (!res.headersSent) {
      res.writeHead(400, { 'content-type': 'text/html' });
      res.end(html('Error', `<p>${esc(err.message)}</p>`));
    }
  }
});

server.listen(PORT, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider listening on http://127.0.0.1:${PORT}\n`);
});

server.on('error', (err) => {
  process.stderr.write(`The OpenID provider cannot listen on 127.0.0.1:${PORT}: ${err.message}\n`);
  process.exit(3);
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
