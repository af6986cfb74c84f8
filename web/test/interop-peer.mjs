#!/usr/bin/env node
// A headless ATLAS E2E v1 peer built on web/src/crypto (the browser implementation), driven over
// JSON lines on stdin/stdout. Used by tests/integration/e2e_interop (pytest) to talk to the Python
// SDK. Requires `node web/build.mjs` first.
//
// Request:  {"id": 1, "op": "...", ...args}
// Response: {"id": 1, "ok": true, "result": ...}  or  {"id": 1, "ok": false, "error": {"code", "message"}}
//
// Ops: init {wallet_key, device_id?, opks?, issued_at?} → {wallet, device_id, registration}
//      trust {wallet, record} → {changed};  start_session {wallet, device_id, bundle}
//      encrypt {conversation_id, recipients: [{wallet, device_id}], message} → {payloads}
//      decrypt {conversation_id, sender_wallet, sender_device, payload} → {message, kind, new_session, identity_changed}
//      safety_number {wallet, device_id} → {safety_number};  reload (toJSON → JSON text → fromJSON)
//      backup_sign {} → {statement, signature};  backup_encrypt {nonce_hex?} → {blob_b64}
//      backup_decrypt {blob_b64} → {identity, signing, signed_prekey: {key_id, private}} (base64)
//      sign_prekeys {opks} → prekeys body;  state → device JSON
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// `node --test web/test/` would also start this file as a test and wait on stdin forever.
if (process.env.NODE_TEST_CONTEXT) process.exit(0);

const here = dirname(fileURLToPath(import.meta.url));
const c = await import(join(here, '..', '.build', 'crypto.mjs'));

let device = null;
let walletKey = null;

function need() {
  if (!device) throw Object.assign(new Error('init first'), { code: 'no_device' });
  return device;
}

const ops = {
  init({ wallet_key, device_id, opks = 5, issued_at = '2026-11-26T08:00:00Z' }) {
    walletKey = c.fromHex(wallet_key);
    const wallet = c.addressFromPrivateKey(walletKey);
    device = c.E2EDevice.generate(wallet, device_id);
    const signature = c.personalSign(walletKey, device.bindingStatement(issued_at));
    const registration = device.registrationBody(signature, issued_at, opks);
    return { wallet, device_id: device.deviceId, registration };
  },
  trust({ wallet, record }) {
    return { changed: need().trust(c.verifyDeviceRecord(wallet, record)) };
  },
  start_session({ wallet, device_id, bundle }) {
    need().startSession(c.verifyPrekeyBundle(bundle, wallet, device_id));
    return {};
  },
  encrypt({ conversation_id, recipients, message }) {
    const rs = recipients.map((r) => ({ wallet: r.wallet, deviceId: r.device_id }));
    return { payloads: need().encryptFor(conversation_id, rs, message) };
  },
  decrypt({ conversation_id, sender_wallet, sender_device, payload }) {
    const d = need().decrypt(conversation_id, sender_wallet, sender_device, payload);
    return { message: d.message, kind: d.kind, new_session: d.newSession, identity_changed: d.identityChanged };
  },
  safety_number({ wallet, device_id }) {
    return { safety_number: need().safetyNumber(wallet, device_id) };
  },
  reload() {
    device = c.E2EDevice.fromJSON(JSON.parse(JSON.stringify(need().toJSON())));
    return {};
  },
  state() {
    return need().toJSON();
  },
  backup_sign() {
    const statement = need().backupStatement();
    return { statement, signature: c.personalSign(walletKey, statement) };
  },
  backup_encrypt({ nonce_hex }) {
    const sig = c.personalSign(walletKey, need().backupStatement());
    const opts = nonce_hex ? { nonce: c.fromHex(nonce_hex) } : {};
    return { blob_b64: c.toBase64(c.encryptBackup(device.wallet, sig, device.backupKeys(), opts)) };
  },
  backup_decrypt({ blob_b64 }) {
    const sig = c.personalSign(walletKey, need().backupStatement());
    const k = c.decryptBackup(device.wallet, sig, c.fromBase64(blob_b64));
    return {
      identity: c.toBase64(k.identity),
      signing: c.toBase64(k.signing),
      signed_prekey: { key_id: k.signedPrekey.keyId, private: c.toBase64(k.signedPrekey.privateKey) },
    };
  },
  sign_prekeys({ opks = 0, rotate = false }) {
    return need().prekeysBody({ oneTimePrekeys: opks, rotateSignedPrekey: rotate });
  },
};

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  let id = null;
  try {
    const req = JSON.parse(line);
    id = req.id ?? null;
    const fn = ops[req.op];
    if (!fn) throw Object.assign(new Error(`unknown op ${req.op}`), { code: 'unknown_op' });
    const result = fn(req);
    process.stdout.write(`${JSON.stringify({ id, ok: true, result })}\n`);
  } catch (e) {
    const error = { code: e?.code ?? 'error', name: e?.name ?? 'Error', message: String(e?.message ?? e) };
    process.stdout.write(`${JSON.stringify({ id, ok: false, error })}\n`);
  }
}
