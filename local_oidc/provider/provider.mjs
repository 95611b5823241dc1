// A local OpenID Connect provider for trying and testing the console's single sign-on.
//
// oidc-provider (an OpenID Certified implementation) does the protocol: discovery, authorize, token,
// userinfo, JWKS, RS256-signed ID tokens, PKCE, nonce, strict redirect URI matching and RP-initiated
// logout. This file only adds what a real identity provider has around it: accounts, a sign-in page and
// plain pages for errors and sign-out, none of which load anything from the internet.
//
// Usage: node provider.mjs CONFIG.json   (the Python launcher in local_oidc/ writes the config)
// Prints one line `listening <issuer>` on stdout once it serves; stops on SIGTERM or SIGINT.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { randomBytes, generateKeyPairSync } from 'node:crypto';

import Provider, { interactionPolicy } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = new Map(config.users.map((user) => [user.login, user]));
const bySub = new Map(config.users.map((user) => [user.sub, user]));

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;padding:48px 16px;color:#1d2330}
main{max-width:420px;margin:0 auto;background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15);padding:28px 32px}
h1{font-size:1.35em;margin:0 0 6px}p.sub{color:#5b6475;margin:0 0 20px}
label{display:block;font-weight:600;margin:14px 0 4px}input{width:100%;box-sizing:border-box;padding:9px;font-size:1em;border:1px solid #b9c0cc;border-radius:4px}
button{margin-top:20px;width:100%;padding:10px;font-size:1em;font-weight:600;border:0;border-radius:4px;background:#3056d3;color:#fff;cursor:pointer}
button.secondary{background:#e4e7ec;color:#1d2330;margin-top:10px}
.error{background:#fdecea;color:#8a1c12;padding:10px 12px;border-radius:4px;margin-bottom:12px}
table{width:100%;border-collapse:collapse;margin-top:22px;font-size:.9em}td,th{text-align:left;padding:4px 6px;border-top:1px solid #e4e7ec}
code{background:#eef0f3;padding:1px 4px;border-radius:3px}
</style></head><body><main>${body}</main></body></html>`;
}

function signInPage(uid, clientName, { error = '', login = '' } = {}) {
  const rows = config.users.map((user) => `<tr><td><code>${escapeHtml(user.login)}</code></td>`
    + `<td>${escapeHtml(user.name)}</td><td>${escapeHtml(user.email || 'no email claim')}</td></tr>`).join('');
  return page('Sign in · Local identity provider', `
<h1>Sign in</h1>
<p class="sub">to continue to ${escapeHtml(clientName)}</p>
${error ? `<div class="error" role="alert">${escapeHtml(error)}</div>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
  <label for="login">Username</label>
  <input id="login" name="login" value="${escapeHtml(login)}" required autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" required>
  <button type="submit">Sign in</button>
</form>
<form method="get" action="/interaction/${escapeHtml(uid)}/abort"><button class="secondary" type="submit">Cancel</button></form>
<table><tr><th>username</th><th>name</th><th>email</th></tr>${rows}</table>
<p class="sub" style="margin-top:12px">Local test accounts; every password is <code>${escapeHtml(config.password)}</code>.</p>`);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
    if (chunks.reduce((size, c) => size + c.length, 0) > 64 * 1024) throw new Error('form too large');
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, html) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(html);
}

// Streamlit asks for prompt=select_account, as Google and Entra ID understand it: show the sign-in page.
const policy = interactionPolicy.base();
policy.add(new interactionPolicy.Prompt({ name: 'select_account', requestable: true }), 0);

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: `local-${randomBytes(4).toString('hex')}`,
  alg: 'RS256', use: 'sig' };

function configure(issuer) {
  return new Provider(issuer, {
    clients: config.clients,
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: ['openid', 'email', 'profile'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
    // Google, Okta and Entra ID put the requested claims in the ID token, and st.user reads only the ID token.
    conformIdTokenClaims: false,
    interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = page('Sign out · Local identity provider', `<h1>Sign out</h1>
<p class="sub">Sign out of the local identity provider too?</p>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button class="secondary" type="submit" form="op.logoutForm">No, stay signed in here</button>`);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = page('Signed out', '<h1>Signed out</h1><p class="sub">You are signed out.</p>');
        },
      },
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Sign-in error · Local identity provider', `<h1>This sign-in request was refused</h1>
<div class="error" role="alert"><strong>${escapeHtml(out.error)}</strong>: ${escapeHtml(out.error_description || '')}</div>
<p class="sub">The application that sent you here is not set up the way this provider expects.</p>`);
    },
    async findAccount(ctx, sub) {
      const user = bySub.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims() {
          const claims = { sub, name: user.name, preferred_username: user.login };
          if (user.email) Object.assign(claims, { email: user.email, email_verified: user.email_verified !== false });
          return claims;
        },
      };
    },
    ttl: { Session: 8 * 3600, Interaction: 3600, Grant: 8 * 3600 },
  });
}

// The first-party console is pre-approved, as an organisation's admin consents for its own apps.
async function grantConsent(provider, details) {
  const { prompt: { details: missing }, grantId, session, params } = details;
  const grant = grantId ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  return grant.save();
}

async function handleInteraction(provider, req, res, url) {
  const [, , uid, action] = url.pathname.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Sign-in error', '<h1>This sign-in link has expired</h1>'));
  const client = await provider.Client.find(details.params.client_id);
  const clientName = client?.clientName || details.params.client_id;
  if (action === 'abort') {
    return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The user cancelled' },
      { mergeWithLastSubmission: false });
  }
  if (action === 'login' && req.method === 'POST') {
    const form = await readForm(req);
    const login = (form.get('login') || '').trim().toLowerCase();
    const user = accounts.get(login);
    if (!user || form.get('password') !== config.password) {
      return send(res, 401, signInPage(uid, clientName, { error: 'Wrong username or password.', login }));
    }
    return provider.interactionFinished(req, res, { select_account: {}, login: { accountId: user.sub } },
      { mergeWithLastSubmission: false });
  }
  if (details.prompt.name === 'consent') {
    const consent = { grantId: await grantConsent(provider, details) };
    return provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
  }
  return send(res, 200, signInPage(uid, clientName));
}

let provider;
let callback;
const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://local');
  if (url.pathname.startsWith('/interaction/')) {
    try {
      await handleInteraction(provider, req, res, url);
    } catch (error) {
      send(res, 400, page('Sign-in error', `<h1>Sign-in failed</h1><div class="error">${escapeHtml(error.message)}</div>`));
    }
    return;
  }
  callback(req, res);
});

server.listen(config.port || 0, config.host || '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://${config.host || '127.0.0.1'}:${port}`;
  provider = configure(issuer);
  callback = provider.callback();
  process.stdout.write(`listening ${issuer}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
