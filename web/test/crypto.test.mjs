// Behaviour of the JS implementation beyond the shared vectors: failure modes, limits, encodings,
// the E2EDevice store and JSON persistence. JS ↔ JS only (Python ↔ JS is tests/integration/e2e_interop).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { c } from './helpers.mjs';

const CONV = '11111111-2222-4333-8444-555555555555';
const ISSUED = '2026-11-26T08:00:00Z';
const text = (t) => ({ v: 1, type: 'text', text: t, sent_at: ISSUED });
const isCode = (code) => (e) => e instanceof c.CryptoError && e.code === code;

let counter = 0;
function party(opks = 3) {
  counter += 1;
  const walletKey = c.sha256(c.utf8(`js test wallet ${counter}`));
  const wallet = c.addressFromPrivateKey(walletKey);
  const device = c.E2EDevice.generate(wallet);
  const reg = device.registrationBody(c.personalSign(walletKey, device.bindingStatement(ISSUED)), ISSUED, opks);
  let nextOpk = 0;
  return {
    walletKey, wallet, device, reg,
    record() {
      const { one_time_prekeys, ...rest } = reg;
      return { ...rest, device_id: device.deviceId };
    },
    bundle(withOpk = true) {
      const b = { ...this.record(), one_time_prekey: withOpk ? reg.one_time_prekeys[nextOpk++] ?? null : null };
      return c.verifyPrekeyBundle(b, wallet, device.deviceId);
    },
  };
}

function pair(withOpk = true) {
  const a = party();
  const b = party();
  a.device.startSession(b.bundle(withOpk));
  b.device.trust(c.verifyDeviceRecord(a.wallet, a.record()));
  return [a, b];
}

const send = (src, dst, t) => src.device.encryptFor(CONV, [{ wallet: dst.wallet, deviceId: dst.device.deviceId }], text(t))[0];
const recv = (dst, src, p) => dst.device.decrypt(CONV, src.wallet, src.device.deviceId, p).message.text;
const snap = (p) => JSON.stringify(p.device.toJSON());

describe('encodings', () => {
  it('base64 is strict standard with padding', () => {
    for (const n of [0, 1, 2, 3, 4, 31, 32, 33, 65]) {
      const b = c.sha512(c.utf8(String(n))).slice(0, n);
      const s = c.toBase64(b);
      assert.equal(s, Buffer.from(b).toString('base64'));
      assert.deepEqual(c.fromBase64(s), b);
    }
    for (const bad of ['A', 'AA', 'AAA', 'AB==', 'AAB=', 'A===', 'AA=A', 'AA AA', '-_==', 'AA==\n', 'Zg']) {
      assert.throws(() => c.fromBase64(bad), TypeError, bad);
    }
  });
  it('hex and base58', () => {
    assert.deepEqual(c.fromHex('0x00ff10'), Uint8Array.of(0, 255, 16));
    assert.throws(() => c.fromHex('0xabc'));
    assert.deepEqual(c.fromBase58('1112'), Uint8Array.of(0, 0, 0, 1));
    assert.throws(() => c.fromBase58('0OIl'));
  });
  it('canonical JSON sorts keys by UTF-16 code units and refuses floats and lone surrogates', () => {
    assert.equal(c.canonicalJson({ b: 1, a: [true, null, 'x\n"'], '\u00e9': 0, 'A': -5 }), '{"A":-5,"a":[true,null,"x\\n\\""],"b":1,"é":0}');
    assert.equal(c.canonicalJson({ '\ud83d\ude00': 1, '\uffff': 2 }), '{"\ud83d\ude00":1,"\uffff":2}');
    assert.throws(() => c.canonicalJson({ x: 1.5 }), isCode('invalid_plaintext'));
    assert.throws(() => c.canonicalJson({ x: 2 ** 53 }), isCode('invalid_plaintext'));
    assert.throws(() => c.canonicalJson({ x: '\ud800' }), isCode('invalid_plaintext'));
  });
  it('content needs v=1 and a type', () => {
    assert.throws(() => c.encodeContent({ type: 'text' }), isCode('invalid_plaintext'));
    assert.throws(() => c.decodeContent(c.utf8('[1]')), isCode('invalid_plaintext'));
    assert.throws(() => c.decodeContent(Uint8Array.of(0xff)), isCode('invalid_plaintext'));
    assert.deepEqual(c.decodeContent(c.encodeContent(c.receiptContent('read', 7))), { v: 1, type: 'read', up_to: 7 });
  });
  it('wire bodies refuse bad versions, short bodies and unpadded lengths', () => {
    const header = c.encodeHeader({ dh: new Uint8Array(32).fill(9), pn: 1, n: 2 });
    assert.deepEqual(c.decodeHeader(header), { dh: new Uint8Array(32).fill(9), pn: 1, n: 2 });
    const ok = c.encodeMessageBody(header, new Uint8Array(80));
    assert.equal(c.decodeBody('message', ok).header.n, 2);
    assert.throws(() => c.decodeBody('message', c.encodeMessageBody(header, new Uint8Array(79))), isCode('invalid_encoding'));
    assert.throws(() => c.decodeBody('message', c.encodeMessageBody(header, new Uint8Array(81))), isCode('invalid_encoding'));
    assert.throws(() => c.decodeBody('message', Uint8Array.of(2, ...ok.slice(1))), isCode('invalid_encoding'));
    assert.throws(() => c.decodeBody('prekey', ok), isCode('invalid_encoding'));
    assert.throws(() => c.decodeBody('other', ok), isCode('invalid_encoding'));
  });
});

describe('binding', () => {
  it('a Solana account binds with a base64 Ed25519 signature over the same text', () => {
    const acct = c.ed25519KeyPair(c.sha256(c.utf8('solana account')));
    const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
    let n = BigInt(`0x${c.toHex(acct.publicKey)}`);
    let wallet = '';
    while (n > 0n) { wallet = B58[Number(n % 58n)] + wallet; n /= 58n; }
    const dev = c.E2EDevice.generate(wallet);
    const stmt = dev.bindingStatement(ISSUED);
    assert.ok(stmt.includes(`Account: ${wallet}\n`), 'base58 account kept as is');
    const reg = dev.registrationBody(c.toBase64(c.ed25519Sign(acct.privateKey, c.utf8(stmt))), ISSUED, 1);
    const rec = c.verifyDeviceRecord(wallet, { ...reg, device_id: dev.deviceId });
    assert.deepEqual(rec.identityKey, dev.identity.publicKey);
    assert.throws(() => c.verifyDeviceRecord(wallet, { ...reg, device_id: dev.deviceId, issued_at: '2026-11-26T08:00:01Z' }), isCode('binding_invalid'));
  });
  it('a record for another device id, or a malformed key, is refused', () => {
    const p = party();
    assert.throws(() => c.verifyDeviceRecord(p.wallet, p.record(), c.randomUuid()), isCode('binding_invalid'));
    assert.throws(() => c.verifyDeviceRecord(p.wallet, { ...p.record(), identity_key: 'AAAA' }), isCode('invalid_encoding'));
    assert.throws(() => c.verifyDeviceRecord(party().wallet, p.record()), isCode('binding_invalid'));
  });
});

describe('sessions', () => {
  it('context binds conversation, sender and recipient device', () => {
    const [a, b] = pair();
    const p = send(a, b, 'hello');
    const before = snap(b);
    assert.throws(() => b.device.decrypt('00000000-0000-4000-8000-000000000000', a.wallet, a.device.deviceId, p), isCode('decrypt_failed'));
    assert.equal(snap(b), before);
    assert.equal(recv(b, a, p), 'hello');
  });
  it('a tampered body fails and leaves the state unchanged; the genuine one still decrypts', () => {
    const [a, b] = pair();
    assert.equal(recv(b, a, send(a, b, 'x')), 'x');
    const p = send(a, b, 'y');
    const raw = c.fromBase64(p.body);
    for (const i of [1, 20, 37, 41, 60, raw.length - 1]) {
      const t = Uint8Array.from(raw);
      t[i] ^= 0x40;
      const before = snap(b);
      assert.throws(() => b.device.decrypt(CONV, a.wallet, a.device.deviceId, { ...p, body: c.toBase64(t) }), (e) => e instanceof c.CryptoError);
      assert.equal(snap(b), before, `byte ${i}`);
    }
    assert.equal(recv(b, a, p), 'y');
    assert.throws(() => recv(b, a, p), isCode('replay'));
  });
  it('MAX_SKIP: 1000 skipped keys are accepted, one more is refused without changing state', () => {
    const [a, b] = pair();
    assert.equal(recv(b, a, send(a, b, 'start')), 'start');
    // Drive a raw session: encrypt 1002 messages, deliver only the last two.
    const stackOf = (p) => p.device.toJSON().sessions[0].sessions[0];
    let s = c.sessionFromJson(stackOf(a));
    const ctx = c.messageContext(CONV, a.device.deviceId, b.device.deviceId);
    const bodies = [];
    for (let i = 0; i < 1002; i++) {
      const r = c.encrypt(s, c.utf8(`{"v":1,"type":"n","i":${i}}`), ctx);
      s = r.session;
      bodies.push(r);
    }
    const bs = c.sessionFromJson(stackOf(b));
    assert.throws(() => c.decrypt(bs, bodies[1001].kind, bodies[1001].body, ctx), isCode('too_many_skipped'));
    const r = c.decrypt(bs, bodies[1000].kind, bodies[1000].body, ctx);
    assert.equal(r.session.skipped.size, c.MAX_SKIP);
    assert.equal(bs.skipped.size, 0, 'the input state was not modified');
    const r2 = c.decrypt(r.session, bodies[1001].kind, bodies[1001].body, ctx); // the store is full, but no skip needed
    assert.equal(r2.session.skipped.size, c.MAX_SKIP);
    const more = [c.encrypt(bodies[1001].session, c.utf8('{"v":1,"type":"n"}'), ctx)];
    more.push(c.encrypt(more[0].session, c.utf8('{"v":1,"type":"n"}'), ctx));
    assert.throws(() => c.decrypt(r2.session, more[1].kind, more[1].body, ctx), isCode('too_many_skipped'));
    const r3 = c.decrypt(r2.session, bodies[0].kind, bodies[0].body, ctx); // a skipped key frees a slot
    assert.equal(r3.session.skipped.size, c.MAX_SKIP - 1);
    assert.equal(c.decrypt(r3.session, more[1].kind, more[1].body, ctx).session.skipped.size, c.MAX_SKIP);
  });
  it('out-of-order and late messages across several DH ratchet turns', () => {
    const [a, b] = pair();
    const a1 = ['1', '2', '3'].map((t) => send(a, b, t));
    assert.equal(recv(b, a, a1[2]), '3');
    const b1 = send(b, a, 'b1');
    assert.equal(recv(a, b, b1), 'b1');
    const a2 = send(a, b, 'a2');
    assert.equal(recv(b, a, a2), 'a2');
    assert.equal(recv(b, a, a1[0]), '1');
    const b2 = send(b, a, 'b2');
    assert.equal(recv(a, b, b2), 'b2');
    assert.equal(recv(b, a, a1[1]), '2');
    assert.throws(() => recv(b, a, a1[1]), isCode('replay'));
    assert.throws(() => recv(a, b, b1), isCode('replay'));
  });
  it('a prekey message from an unverified identity is refused; after trust() it decrypts', () => {
    const a = party();
    const b = party();
    a.device.startSession(b.bundle());
    const p = send(a, b, 'hi');
    assert.throws(() => recv(b, a, p), isCode('unknown_device'));
    b.device.trust(c.verifyDeviceRecord(a.wallet, a.record()));
    assert.equal(recv(b, a, p), 'hi');
    assert.equal(b.device.oneTimePrekeyCount, 2, 'the one-time prekey was consumed');
  });
  it('a replayed first message is refused even once its session has been replaced', () => {
    const [a, b] = pair(false);
    const first = send(a, b, 'first');
    assert.equal(recv(b, a, first), 'first');
    a.device.startSession(b.bundle(false)); // a new X3DH run replaces the session
    assert.equal(recv(b, a, send(a, b, 'second run')), 'second run');
    for (let i = 0; i < 6; i++) {
      a.device.startSession(b.bundle(false));
      assert.equal(recv(b, a, send(a, b, `run ${i}`)), `run ${i}`);
    }
    assert.throws(() => recv(b, a, first), isCode('replay'));
  });
  it('simultaneous initiation: both sides keep decrypting (archived sessions)', () => {
    const a = party();
    const b = party();
    a.device.startSession(b.bundle());
    b.device.startSession(a.bundle());
    const pa = send(a, b, 'from a');
    const pb = send(b, a, 'from b');
    assert.equal(recv(b, a, pa), 'from a');
    assert.equal(recv(a, b, pb), 'from b');
    assert.equal(recv(a, b, send(b, a, 'b again')), 'b again');
    assert.equal(recv(b, a, send(a, b, 'a again')), 'a again');
  });
  it('an identity key change drops sessions and raises a warning until acknowledged', () => {
    const [a, b] = pair();
    assert.equal(recv(b, a, send(a, b, 'x')), 'x');
    const b2 = c.E2EDevice.generate(b.wallet, b.device.deviceId);
    const reg2 = b2.registrationBody(c.personalSign(b.walletKey, b2.bindingStatement(ISSUED)), ISSUED, 1);
    const rec2 = c.verifyDeviceRecord(b.wallet, { ...reg2, device_id: b2.deviceId });
    assert.equal(a.device.trust(rec2), true);
    assert.equal(a.device.hasSession(b.wallet, b.device.deviceId), false);
    assert.equal(a.device.identityChanged(b.wallet, b.device.deviceId), true);
    const before = a.device.safetyNumber(b.wallet, b.device.deviceId);
    assert.equal(before.length, 60);
    a.device.acknowledgeIdentity(b.wallet, b.device.deviceId);
    assert.equal(a.device.identityChanged(b.wallet, b.device.deviceId), false);
    assert.throws(() => send(a, b, 'y'), isCode('no_session'));
  });
  it('safety numbers agree on both sides', () => {
    const [a, b] = pair();
    a.device.trust(c.verifyDeviceRecord(b.wallet, b.record()));
    assert.equal(a.device.safetyNumber(b.wallet, b.device.deviceId), b.device.safetyNumber(a.wallet, a.device.deviceId));
  });
  it('device state survives a JSON round trip at every step', () => {
    let [a, b] = pair();
    const reload = (p) => ({ ...p, device: c.E2EDevice.fromJSON(JSON.parse(JSON.stringify(p.device.toJSON()))) });
    for (let i = 0; i < 4; i++) {
      const p = send(a, b, `m${i}`);
      a = reload(a);
      b = reload(b);
      assert.equal(recv(b, a, p), `m${i}`);
      b = reload(b);
      const q = send(b, a, `r${i}`);
      a = reload(a);
      assert.equal(recv(a, b, q), `r${i}`);
    }
    assert.equal(JSON.stringify(reload(a).device.toJSON()), JSON.stringify(a.device.toJSON()));
  });
  it('signed prekey rotation keeps the previous one for in-flight prekey messages', () => {
    const a = party();
    const b = party();
    b.device.trust(c.verifyDeviceRecord(a.wallet, a.record()));
    a.device.startSession(b.bundle());
    const inflight = send(a, b, 'in flight');
    const body = b.device.prekeysBody({ oneTimePrekeys: 2, rotateSignedPrekey: true });
    assert.equal(body.one_time_prekeys.length, 2);
    assert.notEqual(body.signed_prekey.key_id, 1);
    assert.equal(recv(b, a, inflight), 'in flight');
  });
  it('low-order (all-zero) keys in a prekey prefix or a ratchet header are refused without state change', () => {
    const [a, b] = pair();
    const p = send(a, b, 'x');
    const raw = c.fromBase64(p.body);
    const zeroEk = Uint8Array.from(raw);
    zeroEk.fill(0, 33, 65);
    const before = snap(b);
    assert.throws(() => b.device.decrypt(CONV, a.wallet, a.device.deviceId, { ...p, body: c.toBase64(zeroEk) }), isCode('invalid_key'));
    assert.equal(recv(b, a, p), 'x');
    const q = c.fromBase64(send(b, a, 'y').body);
    q.fill(0, 1, 33); // header DH = 0
    const beforeA = snap(a);
    assert.throws(() => a.device.decrypt(CONV, b.wallet, b.device.deviceId, { device_id: a.device.deviceId, kind: 'message', body: c.toBase64(q) }), isCode('invalid_key'));
    assert.equal(snap(a), beforeA);
    assert.notEqual(before, snap(b));
  });
  it('payloads addressed to another device are refused', () => {
    const [a, b] = pair();
    const p = send(a, b, 'x');
    assert.throws(() => b.device.decrypt(CONV, a.wallet, a.device.deviceId, { ...p, device_id: c.randomUuid() }), isCode('session_mismatch'));
  });
});

describe('backup', () => {
  it('a device restored from its backup has the same long-term keys', () => {
    const p = party();
    const sig = c.personalSign(p.walletKey, p.device.backupStatement());
    const blob = c.encryptBackup(p.wallet, sig, p.device.backupKeys());
    assert.equal(blob[0], 1);
    const keys = c.decryptBackup(p.wallet, sig, blob);
    const restored = c.E2EDevice.restore(p.wallet, p.device.deviceId, keys);
    assert.deepEqual(restored.identity.publicKey, p.device.identity.publicKey);
    assert.deepEqual(restored.signing.publicKey, p.device.signing.publicKey);
    assert.equal(restored.signedPrekeyId, p.device.signedPrekeyId);
    assert.throws(() => c.decryptBackup(p.wallet, sig, Uint8Array.of(2, ...blob.slice(1))), isCode('invalid_encoding'));
  });
});
