// Validates Shopify app proxy queries with Shopify's own Node library, @shopify/shopify-api.
//
// Input (stdin): {"modules": "<node_modules dir>", "secret": "<client secret>", "queries": ["a=1&...", ...]}.
// Output (stdout): one JSON array, per query {"valid": true|false, "error": message or null}: the verdict of
// shopify.utils.validateHmac(new URLSearchParams(query), {signator: 'appProxy'}), the check the library's app
// proxy authentication runs (it throws for a missing signature, a repeated shop / timestamp / signature / hmac,
// or a timestamp outside its 90 s tolerance).
'use strict';

const {createRequire} = require('node:module');

if (!globalThis.crypto) globalThis.crypto = require('node:crypto').webcrypto;

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const load = createRequire(input.modules.replace(/\/?$/, '/'));
  load('@shopify/shopify-api/adapters/web-api');
  const {shopifyApi, ApiVersion, LogSeverity} = load('@shopify/shopify-api');
  const shopify = shopifyApi({
    apiKey: 'contract-test', apiSecretKey: input.secret, scopes: [], hostName: 'app.example',
    apiVersion: ApiVersion.October26, isEmbeddedApp: false,
    logger: {level: LogSeverity.Error, log: async () => {}},
  });
  const out = [];
  for (const query of input.queries) {
    try {
      const valid = await shopify.utils.validateHmac(new URLSearchParams(query), {signator: 'appProxy'});
      out.push({valid, error: null});
    } catch (err) {
      out.push({valid: false, error: String(err && err.message || err)});
    }
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack || err));
  process.exit(1);
});
