// Sends identify, group and track calls with Segment's own analytics-node, configured only with
// the host and the write key, and prints what the library reported. Input (stdin, JSON):
// {"host", "writeKey", "userId", "groupId", "traits", "events": [{"event", "properties"}]}.
// Output (stdout, JSON): {"errors": ["<the library's error reason>", ...]}.
const { Analytics } = require('@segment/analytics-node');

const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const analytics = new Analytics({ writeKey: input.writeKey, host: input.host });
const errors = [];
// Observing the library's own events: a delivery it gave up on (a 401 is not retried).
analytics.on('error', (err) => errors.push(String(err.reason ?? err.message ?? err.code ?? err)));

analytics.identify({ userId: input.userId, traits: { plan: 'pro' } });
analytics.group({ userId: input.userId, groupId: input.groupId, traits: input.traits });
for (const { event, properties } of input.events) {
  analytics.track({ userId: input.userId, event, properties });
}
analytics.closeAndFlush({ timeout: 20000 }).then(() => {
  process.stdout.write(JSON.stringify({ errors }));
});
