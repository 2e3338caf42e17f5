// Baseline for infra/bench.sh: stripe-node's constructEvent (verify + JSON.parse) per event.
//   node bench.js <payload.json> <secret> [iterations]
'use strict';
const fs = require('fs');
const Stripe = require('stripe');
const stripe = new Stripe('sk_test_bench');

const [payloadPath, secret, n = '20000'] = process.argv.slice(2);
const payload = fs.readFileSync(payloadPath, 'utf8');
const header = stripe.webhooks.generateTestHeaderString({ payload, secret });
const iterations = Number(n);
const run = () => {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) stripe.webhooks.constructEvent(payload, header, secret);
  return Number(process.hrtime.bigint() - start) / iterations;
};
run(); // warm-up: let the JIT settle
const best = Math.min(run(), run(), run(), run(), run());
console.log(JSON.stringify({
  impl: 'stripe-node',
  version: Stripe.PACKAGE_VERSION,
  payload_bytes: Buffer.byteLength(payload),
  iterations,
  ns_per_event: Math.round(best),
}));
