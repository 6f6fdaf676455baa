// A small OpenID Connect provider for tests, built on the npm package
// `oidc-provider`. Start it with `.ci/oidc-provider.sh start DIR PORT`, which
// installs the package and sets the environment this script reads:
//
//   OIDC_PROVIDER_MODULES  node_modules directory that holds oidc-provider
//   OIDC_PORT              port on 127.0.0.1; the issuer is http://127.0.0.1:PORT
//   OIDC_CLIENT_ID         client_id of the one confidential client
//   OIDC_CLIENT_SECRET     its client_secret (client_secret_basic)
//   OIDC_REDIRECT_URIS     its redirect URIs, comma separated
//   OIDC_ACCOUNTS          JSON file: [{"sub": "...", "email": "...", "name": "..."}]
//
// The login page is GET /interaction/:uid; its form POSTs the single field
// `login` (an e-mail address from the accounts file) to
// /interaction/:uid/login. There is no password and no consent screen: a known
// address logs in and grants `openid email profile` in one step.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

function env(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`provider.mjs: ${name} must be set`);
    process.exit(2);
  }
  return value;
}

// NODE_PATH does not apply to ESM imports, so the package is resolved from the
// cache directory the start script passes, and then imported by file URL.
const modules = env('OIDC_PROVIDER_MODULES');
const entry = createRequire(`${modules.replace(/\/$/, '')}/`).resolve('oidc-provider');
const { default: Provider } = await import(pathToFileURL(entry).href);

const port = Number(env('OIDC_PORT'));
const issuer = `http://127.0.0.1:${port}`;
const scope = 'openid email profile';

// Accounts are keyed by sub for findAccount and by lower-cased e-mail for the
// login form, because people type addresses in any case.
const accounts = JSON.parse(readFileSync(env('OIDC_ACCOUNTS'), 'utf8'));
const bySub = new Map(accounts.map((a) => [String(a.sub), a]));
const byEmail = new Map(accounts.map((a) => [String(a.email).toLowerCase(), a]));

// A fresh RS256 key per start keeps the library's "development-only signing
// keys" warning out of the log; clients fetch it from jwks_uri anyway.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: env('OIDC_CLIENT_ID'),
    client_secret: env('OIDC_CLIENT_SECRET'),
    redirect_uris: env('OIDC_REDIRECT_URIS').split(',').map((s) => s.trim()).filter(Boolean),
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    id_token_signed_response_alg: 'RS256',
    scope,
  }],
  jwks: { keys: [signingKey] },
  // Signed cookies, because without keys the library warns on every start.
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // The service reads e-mail and name from the ID token, so they must be in
  // it and not only at the userinfo endpoint.
  conformIdTokenClaims: false,
  // PKCE with S256 (the only method the library offers) for every request,
  // even though the client is confidential, as the service always sends it.
  pkce: { required: () => true },
  features: {
    // The routes below replace the library's development login pages.
    devInteractions: { enabled: false },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // Fixed lifetimes (seconds), because the library logs a notice whenever
  // it falls back to its default functions for these.
  ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
  async findAccount(ctx, sub) {
    const account = bySub.get(String(sub));
    if (!account) return undefined;
    return {
      accountId: String(account.sub),
      async claims() {
        return {
          sub: String(account.sub),
          email: account.email,
          email_verified: true,
          name: account.name,
        };
      },
    };
  },
});

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// The page has lang, title, main, h1 and a labelled input, so the browser
// test's accessibility check passes on it as on the service's own pages.
function loginPage(res, uid, { status = 200, error = '', login = '' } = {}) {
  const alert = error ? `<p role="alert" id="fehler">${escapeHtml(error)}</p>\n` : '';
  const described = error ? ' aria-describedby="fehler" aria-invalid="true"' : '';
  const body = `<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Anmeldung – Test-Identitätsanbieter</title>
</head>
<body>
<main>
<h1>Anmeldung</h1>
${alert}<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="login">E-Mail-Adresse</label>
<input id="login" name="login" type="email" autocomplete="email" required value="${escapeHtml(login)}"${described}>
<button type="submit">Anmelden</button>
</form>
</main>
</body>
</html>
`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 64 * 1024) throw new Error('request body too large');
  }
  return new URLSearchParams(body);
}

// Grants the client's scopes (and any claims asked for with the `claims`
// parameter), so no consent prompt follows the login.
async function grantAll(details, accountId, grantId) {
  const clientId = details.params.client_id;
  const existing = grantId ? await provider.Grant.find(grantId) : undefined;
  const grant = existing ?? new provider.Grant({ accountId, clientId });
  grant.addOIDCScope(scope);
  const missingClaims = details.prompt.details?.missingOIDCClaims;
  if (Array.isArray(missingClaims) && missingClaims.length) grant.addOIDCClaims(missingClaims);
  return grant.save();
}

async function interaction(req, res, uid, action) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    // Missing or expired interaction cookie: say so instead of a stack trace.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`Anmeldevorgang unbekannt oder abgelaufen (${err.message}).\n`);
    return;
  }
  if (details.uid !== uid) {
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('Anmeldevorgang passt nicht zum Cookie.\n');
    return;
  }

  // Already logged in and only consent missing: grant it without a page.
  if (details.prompt.name === 'consent' && details.session?.accountId && action === undefined) {
    const grantId = await grantAll(details, details.session.accountId, details.grantId);
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  if (action === undefined && req.method === 'GET') {
    loginPage(res, uid);
    return;
  }
  if (action !== 'login' || req.method !== 'POST') {
    res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('Method Not Allowed\n');
    return;
  }

  const login = ((await readForm(req)).get('login') ?? '').trim();
  const account = byEmail.get(login.toLowerCase());
  if (!account) {
    loginPage(res, uid, {
      status: 400,
      login,
      error: 'Zu dieser E-Mail-Adresse gibt es kein Konto.',
    });
    return;
  }
  const accountId = String(account.sub);
  // A grant from an earlier login belongs to that account, not necessarily this one.
  const sameAccount = details.session?.accountId === accountId;
  const grantId = await grantAll(details, accountId, sameAccount ? details.grantId : undefined);
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

const handleOidc = provider.callback();
const server = createServer((req, res) => {
  const path = new URL(req.url, issuer).pathname;
  const m = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login))?$/.exec(path);
  if (!m) {
    handleOidc(req, res);
    return;
  }
  interaction(req, res, m[1], m[2]).catch((err) => {
    console.error(err);
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('Interner Fehler\n');
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`oidc provider listening, issuer ${issuer}`);
});

// A plain kill should end the process promptly, not wait for keep-alive sockets.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
