// A local OIDC issuer for the sign-in tests: npm oauth2-mock-server on 127.0.0.1 (a free port)
// with one RS256 key. Tokens it signs through its own endpoints (the dashboard's authorization
// code + PKCE flow) carry the audience given as the first argument. Prints one JSON line:
// {"issuer", "tokens": {"valid", "expired", "wrong_audience", "wrong_issuer", "foreign_key"}}
// and serves until its stdin closes (the test that started it ends).
// With ACCESS_AUDIENCE, the sign-in flow's access tokens are for that audience instead (as Entra
// ID's are for Microsoft Graph); its ID tokens are always for the client.
// Usage: NODE_PATH=.tools/dashboard-browser/node_modules node issuer.js AUDIENCE [ACCESS_AUDIENCE]
"use strict";

async function main() {
  const audience = process.argv[2];
  if (!audience) throw new Error("usage: node issuer.js AUDIENCE [ACCESS_AUDIENCE]");
  const accessAudience = process.argv[3] || audience;
  const { OAuth2Server, OAuth2Issuer } = await import(require.resolve("oauth2-mock-server"));
  const server = new OAuth2Server();
  await server.issuer.keys.generate("RS256");
  await server.start(0, "127.0.0.1");
  const issuer = server.issuer.url;
  // The authorization code flow gives no audience of its own: the API's audience, as a real
  // provider configured for it would.
  server.service.on("beforeTokenSigning", (token) => {
    if (token.payload.aud === undefined) token.payload.aud = accessAudience;
  });
  const claims = (changes) => ({ scopesOrTransform: (_header, payload) => Object.assign(payload, { sub: "cs-lead" }, changes) });
  // A key that is not in the issuer's JWKS, for a token with every claim right.
  const stranger = new OAuth2Issuer();
  stranger.url = issuer;
  await stranger.keys.generate("RS256");
  const tokens = {
    valid: await server.issuer.buildToken(claims({ aud: audience })),
    valid_list_audience: await server.issuer.buildToken(claims({ aud: ["other-api", audience] })),
    expired: await server.issuer.buildToken({ ...claims({ aud: audience }), expiresIn: -3600 }),
    wrong_audience: await server.issuer.buildToken(claims({ aud: "another-api" })),
    wrong_issuer: await server.issuer.buildToken(claims({ aud: audience, iss: "http://127.0.0.1:1/not-the-issuer" })),
    foreign_key: await stranger.buildToken(claims({ aud: audience })),
  };
  process.stdout.write(`${JSON.stringify({ issuer, tokens })}\n`);
  process.stdin.resume();
  process.stdin.on("end", async () => {
    await server.stop();
    process.exit(0);
  });
}

main().catch((error) => {
  console.error(`issuer: ${error.stack || error}`);
  process.exit(1);
});
