#!/usr/bin/env node
// A loopback-only mock Sigstore stack for the model-signing-rs tests.
//
// It serves the pure request handlers of the npm package @sigstore/mock (pinned to 0.13.0 in
// package.json) over plain HTTP on 127.0.0.1, plus the shims a non-JS client needs, and a tiny
// OpenID Connect issuer:
//
//   POST /api/v2/signingCert           Fulcio (any unsigned/HS256 JWT is accepted; SAN = `email`)
//   POST /api/v1/log/entries           Rekor v1 (dsse 0.0.1 stored as real Rekor does, hashedrekord 0.0.1)
//   POST /api/v2/log/entries           Rekor v2 (hashedrekord 0.0.2, no integrated time)
//   POST /api/v1/timestamp             RFC 3161 TSA (DER TimeStampReq, or sigstore-js' JSON form;
//                                      genTime with milliseconds, as the mock stamps it)
//   GET  /.well-known/openid-configuration   OIDC discovery for the issuer at the base URL
//   GET  /oauth/authorize              authorization endpoint: redirects straight back with a code
//                                      (loopback redirect_uri) or shows the code (out-of-band)
//   POST /oauth/token                  token endpoint: checks PKCE (S256) and the client secret
//                                      (HTTP Basic or form), returns an unsigned id_token for
//                                      OAUTH_EMAIL with aud = the client id
//
// Environment:
//   OUTDIR     (required) where trusted_root.json, signing_config.json and trust_config.json (a
//              ClientTrustConfig) are written; created if missing
//   PORT       TCP port on 127.0.0.1; 0 (the default) picks a free one
//   REKOR_V2   1: the signing config lists a Rekor v2 log, 0 (default): Rekor v1
//   WITH_TSA   1: the signing config lists the TSA, 0 (default): no TSA
//   OAUTH_CLIENT_SECRET  when set, the token endpoint requires this client_secret
//   OAUTH_EMAIL          the email claim of tokens the token endpoint issues
//                        (default oauth-user@example.test)
//   REKOR_WRONG_PAYLOAD  1: the Rekor v1 shim records the payloadHash of other bytes (a log that
//                        logs someone else's payload; the signer's self-check must catch it)
//   STDIN_WATCH  1 (default): exit when stdin reaches end of file, so a test that dies takes the
//                server with it; set 0 when starting it in the background from a shell
//
// Once the files are written it prints exactly one line on stdout, `PORT=<port>`, and logs every
// request on stderr. It exits on SIGTERM/SIGINT, or when stdin closes.
//
// Limits (those of @sigstore/mock): the log is a one-leaf tree per entry (no multi-leaf inclusion
// proofs, no consistency proofs), only P-256 keys, tokens are never authenticated.
'use strict';

const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

// The mock TSA builds the TSTInfo nonce with `new asn1js.Integer({ value })`, which only takes JS
// numbers; real RFC 3161 clients (sigstore-rust, sigstore-python) send 64-bit nonces that arrive
// here as BigInt. Teach asn1js.Integer to take a BigInt before the mock uses it.
const asn1js = require('asn1js');
const pkijs = require('pkijs');
const BaseInteger = asn1js.Integer;
asn1js.Integer = class extends BaseInteger {
  constructor(params = {}) {
    if (params && typeof params.value === 'bigint') {
      super({ valueHex: BaseInteger.fromBigInt(params.value).valueBlock.valueHexView });
    } else {
      super(params);
    }
  }
};

const mock = require('@sigstore/mock');
const { TransparencyLogEntry } = require('@sigstore/protobuf-specs');

const OUT = process.env.OUTDIR;
const PORT = parseInt(process.env.PORT || '0', 10);
const REKOR_V2 = process.env.REKOR_V2 === '1';
const WITH_TSA = process.env.WITH_TSA === '1';
const CLIENT_SECRET = process.env.OAUTH_CLIENT_SECRET || '';
const OAUTH_EMAIL = process.env.OAUTH_EMAIL || 'oauth-user@example.test';
const REKOR_WRONG_PAYLOAD = process.env.REKOR_WRONG_PAYLOAD === '1';

const log = (...args) => console.error('[mock-sigstore]', ...args);
const sha256 = (data) => crypto.createHash('sha256').update(data).digest();
const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

function send(res, status, body, contentType) {
  const headers = contentType ? { 'Content-Type': contentType } : {};
  res.writeHead(status, headers);
  res.end(body);
}

// Outstanding authorization codes of the OAuth mock: code -> {challenge, clientId, redirectUri}.
const codes = new Map();

function unsignedJwt(claims) {
  const header = b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }));
  return `${header}.${b64url(JSON.stringify(claims))}.`;
}

async function main() {
  if (!OUT) throw new Error('set OUTDIR to the directory that receives the trust files');
  // Listen first: with PORT=0 the URL (which goes into the checkpoint origin and every config
  // file) is only known once the socket is bound.
  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(PORT, '127.0.0.1', resolve);
  });
  const port = server.address().port;
  const url = `http://127.0.0.1:${port}`;

  // A distinct key per service, as in a real deployment, so a verifier that mixes them up fails.
  const keyPair = () => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ctlog = await mock.initializeCTLog(keyPair());
  const ca = await mock.initializeCA(keyPair(), ctlog);
  const tlog = await mock.initializeTLog(url, keyPair());
  const tsa = await mock.initializeTSA(keyPair());
  // The mock stamps genTime with milliseconds, which RFC 3161 allows; sigstore-rust needed the
  // patch in patches/sigstore-tsa to read them, and keeping them here keeps that patch tested.
  const handlers = [
    mock.fulcioHandler(ca, { strict: true, subjectClaim: 'email' }),
    mock.rekorHandler(tlog, { strict: true }),
    mock.tsaHandler(tsa, { strict: true }),
  ];

  // Trust material. validFor starts a minute ago so clocks that are slightly behind still accept it.
  const start = new Date(Date.now() - 60_000).toISOString();
  const caEntry = (certs) => ({
    subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
    uri: url,
    certChain: { certificates: certs.map((c) => ({ rawBytes: b64(c) })) },
    validFor: { start },
  });
  const logEntry = (spki) => ({
    baseUrl: url,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: b64(spki), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
    logId: { keyId: b64(sha256(spki)) },
  });
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [logEntry(tlog.publicKey)],
    certificateAuthorities: [caEntry([ca.rootCertificate])],
    ctlogs: [logEntry(ctlog.publicKey)],
    timestampAuthorities: [caEntry([tsa.intCertificate, tsa.rootCertificate])],
  };
  const service = { url, majorApiVersion: 1, operator: 'sigstore.mock', validFor: { start } };
  const signingConfig = {
    mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
    caUrls: [service],
    oidcUrls: [service],
    rekorTlogUrls: [{ ...service, majorApiVersion: REKOR_V2 ? 2 : 1 }],
    tsaUrls: WITH_TSA ? [{ ...service, url: `${url}/api/v1/timestamp` }] : [],
    rekorTlogConfig: { selector: 'ANY' },
    tsaConfig: { selector: 'ANY' },
  };
  const trustConfig = {
    mediaType: 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json',
    trustedRoot,
    signingConfig,
  };
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'trusted_root.json'), JSON.stringify(trustedRoot, null, 1));
  fs.writeFileSync(path.join(OUT, 'signing_config.json'), JSON.stringify(signingConfig, null, 1));
  fs.writeFileSync(path.join(OUT, 'trust_config.json'), JSON.stringify(trustConfig, null, 1));

  // Fulcio as real clients call it: sigstore-python and -rust send the token in an
  // `Authorization: Bearer` header (sigstore-js puts it in the body), and a CSR is base64(PEM)
  // while the mock wants the PEM text.
  // Fulcio certifies the federated connector of a Dex token (`federated_claims.connector_id`, as
  // the public instance's https://oauth2.sigstore.dev/auth writes it) as the issuer, not `iss`: the
  // mock CA reads `iss`, so hand it a token whose `iss` is the connector.
  function federate(jwt) {
    const parts = jwt.split('.');
    if (parts.length < 2) return jwt;
    let claims;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    } catch (e) {
      return jwt;
    }
    const connector = claims.federated_claims && claims.federated_claims.connector_id;
    if (typeof connector !== 'string' || !connector) return jwt;
    return unsignedJwt({ ...claims, iss: connector });
  }

  function fulcioShim(raw, headers) {
    const req = JSON.parse(raw);
    if (!req.credentials && headers.authorization) {
      req.credentials = { oidcIdentityToken: headers.authorization.replace(/^Bearer\s+/i, '') };
    }
    if (req.credentials && req.credentials.oidcIdentityToken) {
      req.credentials.oidcIdentityToken = federate(req.credentials.oidcIdentityToken);
    }
    if (req.certificateSigningRequest && !req.certificateSigningRequest.startsWith('-----')) {
      req.certificateSigningRequest = Buffer.from(req.certificateSigningRequest, 'base64').toString();
    }
    return JSON.stringify(req);
  }

  // Real Rekor v1 turns a proposed dsse entry into {envelopeHash, payloadHash, signatures}; the
  // mock would log the proposal verbatim, which no verifier accepts.
  function rekorV1Shim(raw) {
    const req = JSON.parse(raw);
    if (req.kind !== 'dsse' || !req.spec || !req.spec.proposedContent) return raw;
    const envelopeJson = req.spec.proposedContent.envelope;
    const envelope = JSON.parse(envelopeJson);
    // Rekor stores the verifier re-encoded as canonical PEM (LF line ends, 64 columns), which is
    // what verifiers rebuild and compare against; clients may send CRLF PEM (sigstore-rust does).
    const der = new crypto.X509Certificate(Buffer.from(req.spec.proposedContent.verifiers[0], 'base64')).raw;
    const lines = der.toString('base64').match(/.{1,64}/g).join('\n');
    const verifier = b64(`-----BEGIN CERTIFICATE-----\n${lines}\n-----END CERTIFICATE-----\n`);
    const hex = (data) => sha256(data).toString('hex');
    return JSON.stringify({
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        envelopeHash: { algorithm: 'sha256', value: hex(envelopeJson) },
        payloadHash: {
          algorithm: 'sha256',
          value: REKOR_WRONG_PAYLOAD ? hex('some other payload') : hex(Buffer.from(envelope.payload, 'base64')),
        },
        signatures: envelope.signatures.map((s) => ({ signature: s.sig, verifier })),
      },
    });
  }

  // Rekor v2: log the Entry a real log stores (hashedrekord 0.0.2), not the CreateEntryRequest,
  // and repair the mock's one-leaf proof (it decodes its hex root hash as base64).
  async function rekorV2(raw) {
    const req = JSON.parse(raw).hashedRekordRequestV002;
    if (!req) throw new Error('only hashedRekordRequestV002 is supported');
    const entry = {
      apiVersion: '0.0.2',
      kind: 'hashedrekord',
      spec: {
        hashedRekordV002: {
          data: { algorithm: 'SHA2_256', digest: req.digest },
          signature: req.signature,
        },
      },
    };
    // The mock picks the entry kind from this protobuf oneof marker; keep it out of the JSON.
    Object.defineProperty(entry.spec, '$case', { value: 'hashedRekordRequestV002', enumerable: false });
    const out = TransparencyLogEntry.toJSON(await tlog.logV2(entry));
    const body = Buffer.from(out.canonicalizedBody, 'base64');
    out.logIndex = '0';
    // Rekor v2 records no time (the TSA does); sigstore-rust rejects a v2 entry that claims one.
    delete out.integratedTime;
    out.inclusionProof.logIndex = '0';
    out.inclusionProof.hashes = out.inclusionProof.hashes || [];
    out.inclusionProof.rootHash = b64(sha256(Buffer.concat([Buffer.from([0]), body])));
    return JSON.stringify(out);
  }

  // RFC 3161 over DER, the real protocol; the mock handler only knows sigstore-js' JSON form.
  async function timestampDer(der) {
    const ab = der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength);
    const q = pkijs.TimeStampReq.fromBER(ab);
    return tsa.timestamp({
      artifactHash: Buffer.from(q.messageImprint.hashedMessage.valueBlock.valueHexView),
      hashAlgorithmOID: q.messageImprint.hashAlgorithm.algorithmId,
      nonce: q.nonce ? q.nonce.toBigInt() : 1n,
      policyOID: q.reqPolicy || '1.3.6.1.4.1.57264.2',
      certReq: !!q.certReq,
    });
  }

  function discovery() {
    return JSON.stringify({
      issuer: url,
      authorization_endpoint: `${url}/oauth/authorize`,
      token_endpoint: `${url}/oauth/token`,
      jwks_uri: `${url}/oauth/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['none'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    });
  }

  function authorize(reqUrl, res) {
    const q = reqUrl.searchParams;
    if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) {
      send(res, 400, 'expected response_type=code with an S256 code_challenge', 'text/plain');
      return;
    }
    const code = crypto.randomBytes(16).toString('hex');
    codes.set(code, {
      challenge: q.get('code_challenge'),
      clientId: q.get('client_id') || '',
      redirectUri: q.get('redirect_uri') || '',
    });
    const redirect = q.get('redirect_uri') || '';
    if (redirect === 'urn:ietf:wg:oauth:2.0:oob') {
      send(res, 200, `code: ${code}\n`, 'text/plain');
      return;
    }
    let target;
    try {
      target = new URL(redirect);
    } catch (e) {
      send(res, 400, 'bad redirect_uri', 'text/plain');
      return;
    }
    // Loopback redirects only: this server must never send anyone elsewhere.
    if (target.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) {
      send(res, 400, 'redirect_uri must be a loopback http URL', 'text/plain');
      return;
    }
    target.searchParams.set('code', code);
    if (q.get('state') !== null) target.searchParams.set('state', q.get('state'));
    res.writeHead(302, { Location: target.toString() });
    res.end();
  }

  function token(raw, headers, res) {
    const form = new URLSearchParams(raw);
    // The client may authenticate with HTTP Basic (client_secret_basic, what sigstore-python does)
    // or with client_id/client_secret in the form (client_secret_post); accept either.
    const basic = /^Basic\s+(.+)$/i.exec(headers.authorization || '');
    if (basic) {
      const [id, secret] = Buffer.from(basic[1], 'base64').toString().split(':');
      const dec = (v) => decodeURIComponent((v || '').replace(/\+/g, ' '));
      if (!form.get('client_id')) form.set('client_id', dec(id));
      form.set('client_secret', dec(secret));
    }
    const fail = (error, status = 400) => send(res, status, JSON.stringify({ error }), 'application/json');
    if (form.get('grant_type') !== 'authorization_code') return fail('unsupported_grant_type');
    const grant = codes.get(form.get('code') || '');
    if (!grant) return fail('invalid_grant');
    codes.delete(form.get('code'));
    const verifier = form.get('code_verifier') || '';
    if (b64url(sha256(verifier)) !== grant.challenge) return fail('invalid_grant: PKCE verifier mismatch');
    if ((form.get('redirect_uri') || '') !== grant.redirectUri) return fail('invalid_grant: redirect_uri mismatch');
    if ((form.get('client_id') || '') !== grant.clientId) return fail('invalid_client');
    if (CLIENT_SECRET && form.get('client_secret') !== CLIENT_SECRET) return fail('invalid_client', 401);
    const now = Math.floor(Date.now() / 1000);
    const idToken = unsignedJwt({
      iss: url,
      sub: OAUTH_EMAIL,
      aud: grant.clientId,
      email: OAUTH_EMAIL,
      email_verified: true,
      iat: now,
      nbf: now,
      exp: now + 600,
    });
    send(res, 200, JSON.stringify({ access_token: 'mock', token_type: 'Bearer', id_token: idToken }), 'application/json');
  }

  server.on('request', (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const reqUrl = new URL(req.url, url);
      const route = `${req.method} ${reqUrl.pathname}`;
      res.on('finish', () => log(route, res.statusCode));
      try {
        if (route === 'GET /.well-known/openid-configuration') {
          return send(res, 200, discovery(), 'application/json');
        }
        if (route === 'GET /oauth/authorize') return authorize(reqUrl, res);
        if (route === 'POST /oauth/token') return token(body.toString(), req.headers, res);
        if (route === 'POST /api/v2/log/entries') {
          return send(res, 201, await rekorV2(body.toString()), 'application/json');
        }
        if (route === 'POST /api/v1/timestamp' && /timestamp-query/.test(req.headers['content-type'] || '')) {
          return send(res, 201, await timestampDer(body), 'application/timestamp-reply');
        }
        const handler = req.method === 'POST' && handlers.find((h) => h.path === reqUrl.pathname);
        if (!handler) return send(res, 404, 'not found', 'text/plain');
        let raw = body.toString();
        if (handler.path === '/api/v2/signingCert') raw = fulcioShim(raw, req.headers);
        if (handler.path === '/api/v1/log/entries') raw = rekorV1Shim(raw);
        const r = await handler.fn(raw);
        const out = typeof r.response === 'string'
          ? r.response
          : Buffer.from(r.response.buffer, r.response.byteOffset, r.response.byteLength);
        if (r.statusCode >= 400) log(route, 'rejected:', out.toString());
        return send(res, r.statusCode, out, r.contentType);
      } catch (e) {
        log(route, 'error:', e && e.stack ? e.stack : e);
        return send(res, 400, String(e), 'text/plain');
      }
    });
  });

  // Exit at once: keep-alive client connections would make server.close() wait.
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (process.env.STDIN_WATCH !== '0') {
    process.stdin.on('end', () => process.exit(0));
    process.stdin.on('error', () => process.exit(0));
    process.stdin.resume();
  }
  process.stdout.write(`PORT=${port}\n`);
  log(`ready at ${url}; files in ${path.resolve(OUT)} (rekor v${REKOR_V2 ? 2 : 1}, tsa ${WITH_TSA ? 'on' : 'off'})`);
}

main().catch((e) => {
  log('failed to start:', e && e.stack ? e.stack : e);
  process.exit(1);
});
