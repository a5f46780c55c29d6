// Signs and validates Shopify webhook deliveries with Shopify's own Node library, @shopify/shopify-api.
//
// Input (stdin): {"modules": "<node_modules dir>", "secret": "<client secret>", "cases": [case, ...]}, each case
// {"body": text sent, "signed_body": text signed (default: body), "signing_secret": (default: secret),
//  "signature": a forged header value to send instead (null: none), "headers": {name: value}}.
// Output (stdout): one JSON array, per case {"signature": header sent or null, "result": webhooks.validate(...)}.
// The signature is the library's test helper getHmac (base64 HMAC-SHA256 of the UTF-8 text); validation is
// shopify.webhooks.validate, the check Shopify's app templates run on every delivery.
'use strict';

const {createRequire} = require('node:module');

// Node 18 (Debian 12's nodejs) has no global Web Crypto; the library's runtime expects one.
if (!globalThis.crypto) globalThis.crypto = require('node:crypto').webcrypto;

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const load = createRequire(input.modules.replace(/\/?$/, '/'));
  load('@shopify/shopify-api/adapters/web-api');
  const {shopifyApi, ApiVersion, LogSeverity} = load('@shopify/shopify-api');
  const {getHmac} = load('@shopify/shopify-api/test-helpers');
  const shopify = shopifyApi({
    apiKey: 'contract-test', apiSecretKey: input.secret, scopes: [], hostName: 'app.example',
    apiVersion: ApiVersion.October26, isEmbeddedApp: false,
    logger: {level: LogSeverity.Error, log: async () => {}},
  });
  const out = [];
  for (const c of input.cases) {
    const signature = 'signature' in c
      ? c.signature
      : getHmac(c.signed_body ?? c.body, c.signing_secret ?? input.secret);
    const headers = new Headers(c.headers);
    if (signature !== null) headers.set('X-Shopify-Hmac-Sha256', signature);
    const rawRequest = new Request('https://app.example/privacy/webhooks/shopify',
                                   {method: 'POST', headers, body: c.body});
    const result = await shopify.webhooks.validate({rawBody: c.body, rawRequest});
    out.push({signature, result});
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack || err));
  process.exit(1);
});
