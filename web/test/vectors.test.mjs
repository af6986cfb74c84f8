// Reproduce every committed Python test vector (tests/vectors/e2e/*.json) byte for byte.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';

import { c, hex, listRng, stateView, unhex, vector, vectorsDir } from './helpers.mjs';

const utf8 = (s) => new TextEncoder().encode(s);

describe('vector files', () => {
  it('every committed vector file is covered by this test', () => {
    const covered = new Set([
      'primitives.json', 'padding.json', 'binding.json', 'backup.json', 'safety.json', 'x3dh.json',
      'session.json', 'session_no_opk.json',
    ]);
    const files = readdirSync(vectorsDir).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 8);
    for (const f of files) assert.ok(covered.has(f), `untested vector file ${f}`);
  });
});

describe('primitives.json', () => {
  const v = vector('primitives.json');
  it('protocol label', () => assert.equal(new TextDecoder().decode(c.PROTOCOL), v.protocol));
  it('x25519 public keys and shared secret', () => {
    for (const kp of [v.x25519.a, v.x25519.b]) assert.equal(hex(c.x25519PublicKey(unhex(kp.private))), kp.public);
    assert.equal(hex(c.dh(unhex(v.x25519.a.private), unhex(v.x25519.b.public))), v.x25519.shared);
    assert.equal(hex(c.dh(unhex(v.x25519.b.private), unhex(v.x25519.a.public))), v.x25519.shared);
  });
  it('x25519 rejects the all-zero output', () => {
    const z = v.x25519.reject_all_zero_output;
    assert.throws(() => c.dh(unhex(z.private), unhex(z.public)), (e) => e.code === 'invalid_key');
  });
  it('hkdf', () => {
    for (const h of v.hkdf) {
      assert.equal(hex(c.hkdfSha256(unhex(h.ikm), unhex(h.salt), utf8(h.info), h.length)), h.okm);
    }
  });
  it('kdf_rk', () => {
    const [rk, ck] = c.kdfRoot(unhex(v.kdf_rk.rk), unhex(v.kdf_rk.dh_out));
    assert.equal(hex(rk), v.kdf_rk.next_rk);
    assert.equal(hex(ck), v.kdf_rk.ck);
  });
  it('kdf_ck and message key material', () => {
    for (const s of v.kdf_ck) {
      const [next, mk] = c.kdfChain(unhex(s.ck));
      assert.equal(hex(next), s.next_ck);
      assert.equal(hex(mk), s.mk);
      const { key, nonce } = c.messageKeyMaterial(mk);
      assert.equal(hex(key), s.aead_key);
      assert.equal(hex(nonce), s.nonce);
    }
  });
  it('chacha20poly1305', async () => {
    const a = v.chacha20poly1305;
    const { chacha20poly1305 } = await import('@noble/ciphers/chacha.js');
    assert.equal(hex(chacha20poly1305(unhex(a.key), unhex(a.nonce), unhex(a.ad)).encrypt(unhex(a.plaintext))), a.ciphertext);
  });
  it('ed25519', () => {
    const e = v.ed25519;
    const kp = c.ed25519KeyPair(unhex(e.seed));
    assert.equal(hex(kp.publicKey), e.public);
    assert.equal(hex(c.ed25519Sign(unhex(e.seed), unhex(e.message))), e.signature);
    assert.ok(c.ed25519Verify(kp.publicKey, unhex(e.message), unhex(e.signature)));
  });
});

describe('padding.json', () => {
  const v = vector('padding.json');
  it('pad / unpad', () => {
    for (const p of v.cases) {
      assert.equal(hex(c.pad(unhex(p.input))), p.padded);
      assert.equal(hex(c.unpad(unhex(p.padded))), p.input);
    }
  });
  it('refuses invalid padding', () => {
    for (const bad of v.invalid_padded) {
      assert.throws(() => c.unpad(unhex(bad)), (e) => e.code === 'invalid_padding', bad);
    }
  });
  it('plaintext canonical JSON', () => {
    assert.equal(hex(c.encodeContent(v.plaintext.object)), v.plaintext.canonical_utf8);
    assert.deepEqual(c.decodeContent(unhex(v.plaintext.canonical_utf8)), v.plaintext.object);
  });
});

describe('binding.json', () => {
  const v = vector('binding.json');
  const fields = {
    wallet: v.wallet,
    deviceId: v.device_id,
    identityKey: v.identity_key_b64,
    signingKey: v.signing_key_b64,
    issuedAt: v.issued_at,
  };
  it('statement text', () => {
    assert.equal(c.deviceBindingText(fields), v.statement);
    assert.equal(c.deviceBindingText({ ...fields, wallet: v.wallet.toUpperCase().replace('0X', '0x') }), v.statement);
  });
  it('wallet address and deterministic EIP-191 signature', () => {
    const pk = unhex(v.wallet_private_key);
    assert.equal(c.addressFromPrivateKey(pk), v.wallet);
    assert.equal(c.personalSign(pk, v.statement), v.binding_signature);
    assert.equal(c.personalSign(pk, v.backup_statement), v.backup_signature);
  });
  it('signer recovery', () => {
    assert.equal(c.recoverPersonalSigner(v.statement, v.binding_signature), v.wallet);
    assert.equal(c.recoverPersonalSigner(v.tampered.statement_other_device, v.binding_signature), v.tampered.recovers_to_other_address);
    assert.ok(!c.verifyPersonalSignature(v.tampered.statement_other_device, v.binding_signature, v.wallet));
  });
  it('signed prekey signature', () => {
    const s = v.signed_prekey;
    const signing = c.ed25519KeyPair(unhex(s.signing_seed));
    assert.equal(c.toBase64(signing.publicKey), v.signing_key_b64);
    assert.equal(c.toBase64(c.signPrekey(signing, c.fromBase64(s.public_key_b64))), s.signature_b64);
  });
  it('bundle verification accepts the vector and refuses tampering', () => {
    const s = v.signed_prekey;
    const bundle = {
      identity_key: v.identity_key_b64,
      signing_key: v.signing_key_b64,
      binding_signature: v.binding_signature,
      issued_at: v.issued_at,
      signed_prekey: { key_id: s.key_id, public_key: s.public_key_b64, signature: s.signature_b64 },
      one_time_prekey: null,
    };
    const vb = c.verifyPrekeyBundle(bundle, v.wallet, v.device_id);
    assert.equal(vb.wallet, v.wallet);
    assert.equal(vb.oneTimePrekeyId, null);
    assert.throws(() => c.verifyPrekeyBundle(bundle, v.wallet, v.tampered.statement_other_device.split('\n')[2].slice(8)),
      (e) => e.code === 'binding_invalid');
    assert.throws(() => c.verifyPrekeyBundle(bundle, v.tampered.recovers_to_other_address, v.device_id),
      (e) => e.code === 'binding_invalid');
    assert.throws(() => c.verifyPrekeyBundle({ ...bundle, issued_at: '2026-11-26T08:00:01Z' }, v.wallet, v.device_id),
      (e) => e.code === 'binding_invalid');
    const badSig = c.fromBase64(s.signature_b64);
    badSig[0] ^= 1;
    assert.throws(
      () => c.verifyPrekeyBundle({ ...bundle, signed_prekey: { ...bundle.signed_prekey, signature: c.toBase64(badSig) } }, v.wallet, v.device_id),
      (e) => e.code === 'invalid_signature');
  });
});

describe('backup.json', () => {
  const v = vector('backup.json');
  it('statement, key, plaintext and blob', () => {
    assert.equal(c.backupStatement(v.wallet), v.statement);
    assert.equal(c.personalSign(unhex(v.wallet_private_key), v.statement), v.signature);
    assert.equal(hex(c.backupKey(v.signature)), v.backup_key);
    const j = JSON.parse(v.plaintext_json);
    const keys = {
      identity: c.fromBase64(j.identity),
      signing: c.fromBase64(j.signing),
      signedPrekey: { keyId: j.signed_prekey.key_id, privateKey: c.fromBase64(j.signed_prekey.private) },
    };
    assert.equal(new TextDecoder().decode(c.backupPlaintext(keys)), v.plaintext_json);
    const blob = c.encryptBackup(v.wallet, v.signature, keys, { nonce: unhex(v.nonce) });
    assert.equal(c.toBase64(blob), v.blob_b64);
    const back = c.decryptBackup(v.wallet, v.signature, c.fromBase64(v.blob_b64));
    assert.deepEqual(back, keys);
  });
  it('refuses a wrong wallet, signature or tampered blob', () => {
    const blob = c.fromBase64(v.blob_b64);
    assert.throws(() => c.decryptBackup('0x' + '00'.repeat(20), v.signature, blob), (e) => e.code === 'decrypt_failed');
    const other = c.personalSign(unhex(v.wallet_private_key), 'something else');
    assert.throws(() => c.decryptBackup(v.wallet, other, blob), (e) => e.code === 'decrypt_failed');
    const t = Uint8Array.from(blob);
    t[t.length - 1] ^= 1;
    assert.throws(() => c.decryptBackup(v.wallet, v.signature, t), (e) => e.code === 'decrypt_failed');
  });
});

describe('safety.json', () => {
  const v = vector('safety.json');
  it('fingerprints and safety number', () => {
    assert.equal(c.FINGERPRINT_ITERATIONS, v.iterations);
    assert.equal(c.fingerprint(v.a.wallet, unhex(v.a.identity_key)), v.a.fingerprint);
    assert.equal(c.fingerprint(v.b.wallet, unhex(v.b.identity_key)), v.b.fingerprint);
    const n1 = c.safetyNumber(v.a.wallet, unhex(v.a.identity_key), v.b.wallet, unhex(v.b.identity_key));
    const n2 = c.safetyNumber(v.b.wallet, unhex(v.b.identity_key), v.a.wallet, unhex(v.a.identity_key));
    assert.equal(n1, v.safety_number);
    assert.equal(n2, v.safety_number);
    assert.equal(c.formatSafetyNumber(n1), v.formatted);
  });
});

describe('x3dh.json', () => {
  const v = vector('x3dh.json');
  const kp = (k) => c.x25519KeyPair(unhex(k.private));
  it('key pairs', () => {
    for (const k of [v.alice_identity, v.alice_ephemeral, v.bob_identity, v.bob_signed_prekey, v.bob_one_time_prekey]) {
      assert.equal(hex(kp(k).publicKey), k.public);
    }
  });
  it('DH values', () => {
    assert.equal(hex(c.dh(unhex(v.alice_identity.private), unhex(v.bob_signed_prekey.public))), v.dh1);
    assert.equal(hex(c.dh(unhex(v.alice_ephemeral.private), unhex(v.bob_identity.public))), v.dh2);
    assert.equal(hex(c.dh(unhex(v.alice_ephemeral.private), unhex(v.bob_signed_prekey.public))), v.dh3);
    assert.equal(hex(c.dh(unhex(v.alice_ephemeral.private), unhex(v.bob_one_time_prekey.public))), v.dh4);
  });
  it('shared secret with and without a one-time prekey, both sides', () => {
    const a = c.x3dhInitiator(kp(v.alice_identity), kp(v.alice_ephemeral), unhex(v.bob_identity.public),
      unhex(v.bob_signed_prekey.public), unhex(v.bob_one_time_prekey.public));
    const b = c.x3dhResponder(kp(v.bob_identity), kp(v.bob_signed_prekey), kp(v.bob_one_time_prekey),
      unhex(v.alice_identity.public), unhex(v.alice_ephemeral.public));
    assert.equal(hex(a.sharedKey), v.sk_with_opk);
    assert.equal(hex(b.sharedKey), v.sk_with_opk);
    assert.equal(hex(a.associatedData), v.session_ad);
    assert.equal(hex(b.associatedData), v.session_ad);
    const a0 = c.x3dhInitiator(kp(v.alice_identity), kp(v.alice_ephemeral), unhex(v.bob_identity.public),
      unhex(v.bob_signed_prekey.public), null);
    const b0 = c.x3dhResponder(kp(v.bob_identity), kp(v.bob_signed_prekey), null,
      unhex(v.alice_identity.public), unhex(v.alice_ephemeral.public));
    assert.equal(hex(a0.sharedKey), v.sk_without_opk);
    assert.equal(hex(b0.sharedKey), v.sk_without_opk);
  });
});

/** Replays a session vector step by step; returns the final sessions for the must_fail checks. */
function replaySession(v) {
  const aliceRng = listRng(v.keygen.alice);
  const bobRng = listRng(v.keygen.bob);
  const aliceId = c.x25519KeyPair(unhex(v.alice_identity.private));
  const bobId = c.x25519KeyPair(unhex(v.bob_identity.private));
  const spk = { keyId: v.bob_signed_prekey.key_id, keyPair: c.x25519KeyPair(unhex(v.bob_signed_prekey.private)) };
  const opk = v.bob_one_time_prekey
    ? { keyId: v.bob_one_time_prekey.key_id, keyPair: c.x25519KeyPair(unhex(v.bob_one_time_prekey.private)) }
    : null;
  const bundle = {
    wallet: 'vector', deviceId: v.bob_device, identityKey: bobId.publicKey, signingKey: new Uint8Array(32),
    signedPrekeyId: spk.keyId, signedPrekey: spk.keyPair.publicKey,
    oneTimePrekeyId: opk ? opk.keyId : null, oneTimePrekey: opk ? opk.keyPair.publicKey : null,
  };
  let alice = c.initiateSession(aliceId, bundle, { rng: aliceRng });
  let bob = null;
  const ctxAB = c.messageContext(v.conversation_id, v.alice_device, v.bob_device);
  const ctxBA = c.messageContext(v.conversation_id, v.bob_device, v.alice_device);
  const sent = new Map();
  let checked = 0;
  for (const step of v.steps) {
    if (step.op === 'send') {
      const me = step.from === 'alice' ? alice : bob;
      const ctx = step.from === 'alice' ? ctxAB : ctxBA;
      assert.equal(new TextDecoder().decode(ctx), step.context, `${step.name} context`);
      const plain = c.encodeContent(step.plaintext);
      assert.equal(hex(plain), step.plaintext_utf8, `${step.name} plaintext`);
      assert.equal(hex(c.pad(plain)), step.padded, `${step.name} padded`);
      assert.equal(hex(me.sendingChainKey), step.chain_key, `${step.name} chain key`);
      const [, mk] = c.kdfChain(me.sendingChainKey);
      assert.equal(hex(mk), step.message_key, `${step.name} message key`);
      const { key, nonce } = c.messageKeyMaterial(mk);
      assert.equal(hex(key), step.aead_key);
      assert.equal(hex(nonce), step.nonce);
      const r = c.encrypt(me, plain, ctx);
      assert.equal(r.kind, step.kind, `${step.name} kind`);
      assert.equal(c.toBase64(r.body), step.body_b64, `${step.name} body`);
      const d = c.decodeBody(r.kind, r.body);
      assert.equal(hex(d.headerBytes), step.header, `${step.name} header`);
      assert.equal(hex(d.ciphertext), step.ciphertext, `${step.name} ciphertext`);
      assert.equal(hex(c.aeadAssociatedData(me.associatedData, ctx, d.headerBytes)), step.ad, `${step.name} AD`);
      assert.deepEqual(stateView(r.session), step.state_after, `${step.name} state after send`);
      if (step.from === 'alice') alice = r.session;
      else bob = r.session;
      sent.set(step.name, step);
    } else {
      const rec = sent.get(step.name);
      const body = c.fromBase64(rec.body_b64);
      let plaintext;
      if (step.by === 'bob') {
        if (rec.kind === 'prekey') {
          const res = c.acceptPrekeyMessage({
            identity: bobId, signedPrekeys: [spk], oneTimePrekeys: opk ? [opk] : [], existing: bob,
            body, context: ctxAB, rng: bobRng, expectedRemoteIdentity: aliceId.publicKey,
          });
          assert.equal(res.isNewSession, bob === null, `${step.name} new session?`);
          if (res.isNewSession) assert.equal(res.usedOneTimePrekeyId, opk ? opk.keyId : null);
          bob = res.session;
          plaintext = res.plaintext;
        } else {
          const res = c.decrypt(bob, 'message', body, ctxAB, { rng: bobRng });
          bob = res.session;
          plaintext = res.plaintext;
        }
        assert.deepEqual(stateView(bob), step.state_after, `${step.name} bob state after receive`);
      } else {
        const res = c.decrypt(alice, rec.kind, body, ctxBA, { rng: aliceRng });
        alice = res.session;
        plaintext = res.plaintext;
        assert.deepEqual(stateView(alice), step.state_after, `${step.name} alice state after receive`);
      }
      assert.equal(hex(plaintext), rec.plaintext_utf8, `${step.name} plaintext`);
      assert.deepEqual(c.decodeContent(plaintext), rec.plaintext);
    }
    checked += 1;
  }
  assert.equal(checked, v.steps.length);
  assert.equal(aliceRng.used(), v.keygen.alice.length, 'alice used exactly the listed keys');
  assert.equal(bobRng.used(), v.keygen.bob.length, 'bob used exactly the listed keys');
  return { alice, bob, ctxAB, ctxBA, bobId, spk, opk };
}

for (const file of ['session.json', 'session_no_opk.json']) {
  describe(file, () => {
    const v = vector(file);
    it('every send and receive step reproduces keys, headers, ciphertexts, bodies and states', () => {
      replaySession(v);
    });
    it('must_fail: replays, tampering and a wrong context fail and leave the state unchanged', () => {
      const s = replaySession(v);
      const snap = (x) => JSON.stringify(c.sessionToJson(x));
      const before = { alice: snap(s.alice), bob: snap(s.bob) };
      for (const r of v.must_fail.replays_to_recipient) {
        const body = c.fromBase64(r.body_b64);
        if (r.by === 'bob') {
          assert.throws(() => c.decrypt(s.bob, r.kind, body, s.ctxAB), (e) => e.code === 'replay', r.name);
          if (r.kind === 'prekey') {
            // The responder's entry point for prekey bodies must see the duplicate too.
            assert.throws(() => c.acceptPrekeyMessage({
              identity: s.bobId, signedPrekeys: [s.spk], oneTimePrekeys: s.opk ? [s.opk] : [], existing: s.bob,
              body, context: s.ctxAB,
            }), (e) => e.code === 'replay', r.name);
          }
        } else {
          assert.throws(() => c.decrypt(s.alice, r.kind, body, s.ctxBA), (e) => e.code === 'replay', r.name);
        }
      }
      for (const t of v.must_fail.tampered_to_bob_message) {
        assert.throws(() => c.decrypt(s.bob, 'message', c.fromBase64(t.body_b64), s.ctxAB), (e) => e.name === 'CryptoError', t.what);
      }
      const wc = v.must_fail.wrong_context;
      // Against the final state this body is also a replay; the context binding itself is tested
      // before delivery in crypto.test.mjs.
      assert.throws(() => c.decrypt(s.bob, 'message', c.fromBase64(wc.body_b64), new TextEncoder().encode(wc.context)),
        (e) => e.name === 'CryptoError');
      assert.equal(snap(s.alice), before.alice);
      assert.equal(snap(s.bob), before.bob);
    });
  });
}
