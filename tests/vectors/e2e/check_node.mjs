// Independent cross-check of the ATLAS E2E v1 vectors with Node's built-in crypto (OpenSSL), written
// from docs/protocol.md only — no code shared with the Python implementation.
//   node tests/vectors/e2e/check_node.mjs      → prints "ok N checks" and exits 0, or exits 1
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const load = (n) => JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8'));
const hex = (b) => Buffer.from(b).toString('hex');
const H = (s) => Buffer.from(s, 'hex');
let checks = 0;
const eq = (a, b, what) => {
  checks++;
  if (a !== b) { console.error(`MISMATCH ${what}\n  got      ${a}\n  expected ${b}`); process.exit(1); }
};

const PKCS8 = H('302e020100300506032b656e04220420');
const SPKI = H('302a300506032b656e032100');
const privKey = (d) => crypto.createPrivateKey({ key: Buffer.concat([PKCS8, d]), format: 'der', type: 'pkcs8' });
const pubOf = (d) => crypto.createPublicKey(privKey(d)).export({ format: 'der', type: 'spki' }).subarray(12);
const dh = (d, p) => {
  const out = crypto.diffieHellman({ privateKey: privKey(d), publicKey: crypto.createPublicKey({ key: Buffer.concat([SPKI, p]), format: 'der', type: 'spki' }) });
  if (out.every((x) => x === 0)) throw new Error('all-zero X25519 output');
  return out;
};
const hkdf = (salt, ikm, info, len) => Buffer.from(crypto.hkdfSync('sha256', ikm, salt, Buffer.from(info), len));
const hmac = (k, m) => crypto.createHmac('sha256', k).update(m).digest();
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const P = Buffer.from('ATLAS-E2E-v1');
const Z = Buffer.alloc(32);
const kdfRk = (rk, d) => { const o = hkdf(rk, d, 'ATLAS-E2E-v1/root', 64); return [o.subarray(0, 32), o.subarray(32)]; };
const kdfCk = (ck) => [hmac(ck, Buffer.from([2])), hmac(ck, Buffer.from([1]))];
const mkx = (mk) => { const o = hkdf(Z, mk, 'ATLAS-E2E-v1/message', 44); return [o.subarray(0, 32), o.subarray(32)]; };
const seal = (key, nonce, pt, ad) => {
  const c = crypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  c.setAAD(ad, { plaintextLength: pt.length });
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
};
const open = (key, nonce, ct, ad) => {
  const d = crypto.createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  d.setAAD(ad, { plaintextLength: ct.length - 16 });
  d.setAuthTag(ct.subarray(ct.length - 16));
  return Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
};
const pad = (b) => { const fill = 64 - (b.length % 64); const o = Buffer.alloc(b.length + fill); b.copy(o); o[b.length] = 0x80; return o; };

// primitives
const prim = load('primitives.json');
eq(hex(pubOf(H(prim.x25519.a.private))), prim.x25519.a.public, 'x25519 public');
eq(hex(dh(H(prim.x25519.a.private), H(prim.x25519.b.public))), prim.x25519.shared, 'x25519 shared');
let refused = false;
try { dh(H(prim.x25519.reject_all_zero_output.private), H(prim.x25519.reject_all_zero_output.public)); } catch { refused = true; }
eq(refused, true, 'all-zero output refused');
for (const c of prim.hkdf) eq(hex(hkdf(H(c.salt), H(c.ikm), c.info, c.length)), c.okm, 'hkdf');
const [rk2, ck2] = kdfRk(H(prim.kdf_rk.rk), H(prim.kdf_rk.dh_out));
eq(hex(rk2), prim.kdf_rk.next_rk, 'kdf_rk rk'); eq(hex(ck2), prim.kdf_rk.ck, 'kdf_rk ck');
for (const s of prim.kdf_ck) {
  const [n, mk] = kdfCk(H(s.ck)); const [k, no] = mkx(mk);
  eq(hex(n), s.next_ck, 'kdf_ck next'); eq(hex(mk), s.mk, 'kdf_ck mk'); eq(hex(k), s.aead_key, 'aead key'); eq(hex(no), s.nonce, 'nonce');
}
const a = prim.chacha20poly1305;
eq(hex(seal(H(a.key), H(a.nonce), H(a.plaintext), H(a.ad))), a.ciphertext, 'chacha20poly1305');

// padding
for (const c of load('padding.json').cases) eq(hex(pad(H(c.input))), c.padded, 'pad');

// x3dh
const x = load('x3dh.json');
const F = Buffer.alloc(32, 0xff);
const d1 = dh(H(x.alice_identity.private), H(x.bob_signed_prekey.public));
const d2 = dh(H(x.alice_ephemeral.private), H(x.bob_identity.public));
const d3 = dh(H(x.alice_ephemeral.private), H(x.bob_signed_prekey.public));
const d4 = dh(H(x.alice_ephemeral.private), H(x.bob_one_time_prekey.public));
eq(hex(hkdf(Z, Buffer.concat([F, d1, d2, d3, d4]), 'ATLAS-E2E-v1/x3dh', 32)), x.sk_with_opk, 'x3dh sk');
eq(hex(hkdf(Z, Buffer.concat([F, d1, d2, d3]), 'ATLAS-E2E-v1/x3dh', 32)), x.sk_without_opk, 'x3dh sk no opk');
eq(hex(Buffer.concat([P, H(x.alice_identity.public), H(x.bob_identity.public)])), x.session_ad, 'session ad');

// sessions: a straightforward Double Ratchet from the spec
for (const file of ['session.json', 'session_no_opk.json']) {
  const v = load(file);
  const gens = { alice: v.keygen.alice.map((k) => H(k.private)), bob: v.keygen.bob.map((k) => H(k.private)) };
  const next = (side) => gens[side].shift();
  const ikA = H(v.alice_identity.private), ikB = H(v.bob_identity.private), spk = H(v.bob_signed_prekey.private);
  const opk = v.bob_one_time_prekey ? H(v.bob_one_time_prekey.private) : null;
  const ek = next('alice');
  const parts = [F, dh(ikA, pubOf(spk)), dh(ek, pubOf(ikB)), dh(ek, pubOf(spk))];
  if (opk) parts.push(dh(ek, pubOf(opk)));
  const sk = hkdf(Z, Buffer.concat(parts), 'ATLAS-E2E-v1/x3dh', 32);
  const ad = Buffer.concat([P, pubOf(ikA), pubOf(ikB)]);
  const A = { dhs: next('alice'), dhr: pubOf(spk), ns: 0, nr: 0, pn: 0, ckr: null, skipped: new Map() };
  [A.rk, A.cks] = kdfRk(sk, dh(A.dhs, A.dhr));
  const B = { dhs: spk, dhr: null, rk: sk, cks: null, ckr: null, ns: 0, nr: 0, pn: 0, skipped: new Map(), started: false };
  const st = { alice: A, bob: B };
  const sent = {};
  const stateOf = (s) => ({ rk: hex(s.rk), dhs_public: hex(pubOf(s.dhs)), dhr: s.dhr ? hex(s.dhr) : null, cks: s.cks ? hex(s.cks) : null,
    ckr: s.ckr ? hex(s.ckr) : null, ns: s.ns, nr: s.nr, pn: s.pn, skipped: [...s.skipped.keys()].sort() });
  const skip = (s, until) => { while (s.nr < until) { const [n, mk] = kdfCk(s.ckr); s.skipped.set(`${hex(s.dhr)}:${s.nr}`, mk); s.ckr = n; s.nr++; } };
  for (const step of v.steps) {
    if (step.op === 'send') {
      const s = st[step.from];
      const [n, mk] = kdfCk(s.cks); eq(hex(s.cks), step.chain_key, `${step.name} ck`); s.cks = n;
      const header = Buffer.concat([pubOf(s.dhs), u32(s.pn), u32(s.ns)]); s.ns++;
      const [key, nonce] = mkx(mk);
      const ctx = Buffer.from(step.context);
      const aad = Buffer.concat([ad, u32(ctx.length), ctx, header]);
      const ct = seal(key, nonce, pad(H(step.plaintext_utf8)), aad);
      eq(hex(mk), step.message_key, `${step.name} mk`); eq(hex(header), step.header, `${step.name} header`);
      eq(hex(aad), step.ad, `${step.name} ad`); eq(hex(ct), step.ciphertext, `${step.name} ct`);
      const prekey = step.from === 'alice' && A.ckr === null;
      const body = prekey
        ? Buffer.concat([Buffer.from([1]), pubOf(ikA), pubOf(ek), u32(1), u32(opk ? 7 : 0xffffffff), header, ct])
        : Buffer.concat([Buffer.from([1]), header, ct]);
      eq(step.kind, prekey ? 'prekey' : 'message', `${step.name} kind`);
      eq(body.toString('base64'), step.body_b64, `${step.name} body`);
      eq(JSON.stringify(stateOf(s)), JSON.stringify(step.state_after), `${step.name} sender state`);
      sent[step.name] = { from: step.from, ctx, header, ct, plain: step.plaintext_utf8 };
    } else {
      const m = sent[step.name]; const s = st[step.by];
      const dhp = m.header.subarray(0, 32), pn = m.header.readUInt32BE(32), n = m.header.readUInt32BE(36);
      const aad = Buffer.concat([ad, u32(m.ctx.length), m.ctx, m.header]);
      const slot = `${hex(dhp)}:${n}`;
      let mk;
      if (s.skipped.has(slot)) { mk = s.skipped.get(slot); s.skipped.delete(slot); }
      else {
        if (!(s.dhr && s.dhr.equals(dhp))) {
          if (s.ckr) skip(s, pn);
          s.pn = s.ns; s.ns = 0; s.nr = 0; s.dhr = dhp;
          [s.rk, s.ckr] = kdfRk(s.rk, dh(s.dhs, s.dhr));
          s.pendingKey = true;
        }
        skip(s, n); const [nx, k] = kdfCk(s.ckr); s.ckr = nx; s.nr = n + 1; mk = k;
      }
      const [key, nonce] = mkx(mk);
      const padded = open(key, nonce, m.ct, aad);
      if (s.pendingKey) { s.dhs = next(step.by); [s.rk, s.cks] = kdfRk(s.rk, dh(s.dhs, s.dhr)); s.pendingKey = false; }
      eq(hex(padded.subarray(0, m.plain.length / 2)), m.plain, `${step.name} plaintext`);
      eq(JSON.stringify(stateOf(s)), JSON.stringify(step.state_after), `${step.name} receiver state`);
    }
  }
}
// safety number
const sv = load('safety.json');
const fp = (wallet, ik) => {
  let h = crypto.createHash('sha512').update(Buffer.concat([Buffer.from([0, 0]), ik, Buffer.from(wallet.toLowerCase())])).digest();
  for (let i = 0; i < sv.iterations; i++) h = crypto.createHash('sha512').update(Buffer.concat([h, ik])).digest();
  let out = '';
  for (let i = 0; i < 30; i += 5) out += String(Number(h.readUIntBE(i, 5) % 100000)).padStart(5, '0');
  return out;
};
const fa = fp(sv.a.wallet, H(sv.a.identity_key)), fb = fp(sv.b.wallet, H(sv.b.identity_key));
eq(fa, sv.a.fingerprint, 'fingerprint a'); eq(fb, sv.b.fingerprint, 'fingerprint b');
eq([fa, fb].sort().join(''), sv.safety_number, 'safety number');
// backup key derivation (XChaCha20 is not in node:crypto; the blob is checked by the browser build)
const bv = load('backup.json');
eq(hex(hkdf(Z, H(bv.signature.slice(2)), 'ATLAS-E2E-v1/backup', 32)), bv.backup_key, 'backup key');
console.log(`ok ${checks} checks`);
