// The official stripe-node library as a test oracle for Foresight's Stripe-Signature check.
//   node oracle.js          < {"cases": [{name, body, header, secret, now, tolerance}]}
//     -> {"results": [{name, verified, constructed, error}]}
//        verified: stripe.webhooks.signature.verifyHeader accepted the header for the body;
//        constructed: stripe.webhooks.constructEvent also parsed the body (verify + JSON.parse).
//        `now` is Unix seconds, passed as constructEvent's receivedAt (milliseconds).
//   node oracle.js --sign   < {"requests": [{payload, secret, timestamp}]}
//     -> {"headers": [...]} from stripe.webhooks.generateTestHeaderString.
'use strict';
const Stripe = require('stripe');
const stripe = new Stripe('sk_test_oracle');

function readStdin() {
  return JSON.parse(require('fs').readFileSync(0, 'utf8'));
}

function check(c) {
  const tolerance = c.tolerance ?? 300;
  const receivedAt = c.now * 1000;
  const result = { name: c.name, verified: false, constructed: false, error: null };
  try {
    stripe.webhooks.signature.verifyHeader(c.body, c.header, c.secret, tolerance, undefined, receivedAt);
    result.verified = true;
    stripe.webhooks.constructEvent(c.body, c.header, c.secret, tolerance, undefined, receivedAt);
    result.constructed = true;
  } catch (e) {
    result.error = e.message.split('\n')[0];
  }
  return result;
}

const input = readStdin();
if (process.argv.includes('--sign')) {
  const headers = input.requests.map((r) => stripe.webhooks.generateTestHeaderString(r));
  process.stdout.write(JSON.stringify({ headers }));
} else {
  process.stdout.write(JSON.stringify({ results: input.cases.map(check) }));
}
