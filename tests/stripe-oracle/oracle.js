// The official stripe-node library as a test oracle for Foresight's Stripe-Signature check.
//
//   node oracle.js < {"cases": [{name, body | body_b64, header, secret, now, tolerance}]}
//     -> {"results": [{name, accepted, verified, error, error_type}]}
//        accepted: stripe.webhooks.constructEvent(body, header, secret, tolerance) did not throw
//                  (signature + timestamp check, then JSON.parse of the body);
//        verified: stripe.webhooks.signature.verifyHeader alone did not throw (no JSON.parse);
//        error / error_type: first line and class name of the first thing that threw, else null.
//        `now` (Unix seconds) is the library's clock: constructEvent's `receivedAt` argument (ms).
//        `body_b64` passes the body as raw bytes (a Buffer), e.g. for bodies that are not UTF-8.
//        `tolerance` defaults to 300; 0 (or less) disables the timestamp check in stripe-node.
//
//   node oracle.js --sign < {"requests": [{payload, secret, timestamp}]}
//                         | [{payload, secret, timestamp}, ...] | one such object per line
//     -> {"headers": [...]} from stripe.webhooks.generateTestHeaderString, in input order.
'use strict';
const Stripe = require('stripe');
const { webhooks } = new Stripe('sk_test_oracle');

function check(c) {
  const body = c.body_b64 != null ? Buffer.from(c.body_b64, 'base64') : c.body;
  const tolerance = c.tolerance ?? 300;
  const receivedAt = c.now * 1000;
  const result = { name: c.name, accepted: false, verified: false, error: null, error_type: null };
  try {
    webhooks.signature.verifyHeader(body, c.header, c.secret, tolerance, undefined, receivedAt);
    result.verified = true;
    webhooks.constructEvent(body, c.header, c.secret, tolerance, undefined, receivedAt);
    result.accepted = true;
  } catch (e) {
    result.error = String(e.message).split('\n')[0];
    result.error_type = e.type || e.name || 'Error';
  }
  return result;
}

function signRequests(text) {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) return JSON.parse(trimmed);
  try {
    const doc = JSON.parse(trimmed);
    return Array.isArray(doc.requests) ? doc.requests : [doc];
  } catch {
    return trimmed.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  }
}

const stdin = require('fs').readFileSync(0, 'utf8');
if (process.argv.includes('--sign')) {
  const headers = signRequests(stdin).map((r) => webhooks.generateTestHeaderString(r));
  process.stdout.write(JSON.stringify({ headers }) + '\n');
} else {
  process.stdout.write(JSON.stringify({ results: JSON.parse(stdin).cases.map(check) }) + '\n');
}
