// Baseline for the Stripe benchmark: stripe-node's constructEvent (verify + JSON.parse) per event.
//
//   node bench.js <payload.json> <secret>            one repetition, one JSON line
//   node bench.js <payload.json> <secret> --serve    one repetition per line read on stdin
//
// A repetition times `samples` short runs of `iterations` calls each (about 0.2 ms per run, so
// that most runs fall between two preemptions on a shared machine) and reports the minimum and
// the median run in ns per event. `--serve` keeps one warm process so that the Rust benchmark
// (shared/benches/stripe_ingest.rs) can interleave its repetitions with ours: it writes a line
// (a JSON object with optional `samples` and `iterations`) and reads the answer.
'use strict';
const fs = require('fs');
const readline = require('readline');
const Stripe = require('stripe');
const stripe = new Stripe('sk_test_bench');

const [payloadPath, secret, mode] = process.argv.slice(2);
const payload = fs.readFileSync(payloadPath, 'utf8');
const header = stripe.webhooks.generateTestHeaderString({ payload, secret });

function repetition({ samples = 200, iterations = 8 } = {}) {
  const runs = [];
  for (let s = 0; s < samples; s++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) stripe.webhooks.constructEvent(payload, header, secret);
    runs.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  runs.sort((a, b) => a - b);
  return {
    impl: 'stripe-node',
    version: Stripe.PACKAGE_VERSION,
    node: process.version,
    payload_bytes: Buffer.byteLength(payload),
    samples,
    iterations,
    min_ns: Math.round(runs[0]),
    median_ns: Math.round(runs[Math.floor(runs.length / 2)]),
  };
}

// Warm-up: let the JIT settle before anything is reported.
for (let i = 0; i < 20000; i++) stripe.webhooks.constructEvent(payload, header, secret);

if (mode === '--serve') {
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const options = line.trim() ? JSON.parse(line) : {};
    process.stdout.write(JSON.stringify(repetition(options)) + '\n');
  });
} else {
  console.log(JSON.stringify(repetition()));
}
