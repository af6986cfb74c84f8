#!/usr/bin/env node
// ATLAS E2E v1 browser implementation (web/src/crypto) under Node: encrypt+decrypt pairs/s for
// 256-byte messages and session setup time on each side. Prints one JSON object (last line).
//
//   node web/bench/crypto.mjs [--quick]
//
// Same measurements and names as bench/crypto.py (the Python SDK), which embeds this output as
// "browser_js". Builds web/.build/crypto.mjs first if it is missing.
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundlePath = join(web, '.build', 'crypto.mjs');
if (!existsSync(bundlePath)) {
  const { buildCrypto } = await import(join(web, 'build.mjs'));
  await buildCrypto();
}
const c = await import(bundlePath);

const quick = process.argv.includes('--quick');
const CONV = '6f1c2a4e-2d7b-4c1e-9a53-0d3f1b2c9e10';
const ISSUED = '2026-11-26T08:00:00Z';
const MESSAGE = c.utf8(c.toHex(c.systemRng(128))); // 256 bytes of plaintext
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round3 = (x) => Math.round(x * 1000) / 1000;

function party(label, opks) {
  const walletKey = c.sha256(c.utf8(`bench ${label} ${Math.random()}`));
  const wallet = c.addressFromPrivateKey(walletKey);
  const device = c.E2EDevice.generate(wallet);
  const reg = device.registrationBody(c.personalSign(walletKey, device.bindingStatement(ISSUED)), ISSUED, opks);
  const record = { ...reg, device_id: device.deviceId };
  delete record.one_time_prekeys;
  return { wallet, device, reg, record };
}

function rawPair() {
  const a = c.generateDeviceKeys();
  const b = c.generateDeviceKeys({ oneTimePrekeyCount: 1 });
  const ctxAB = c.messageContext(CONV, '0a1b2c3d-0000-4000-8000-00000000a11c', '0b0b0b0b-0000-4000-8000-000000000b0b');
  const ctxBA = c.messageContext(CONV, '0b0b0b0b-0000-4000-8000-000000000b0b', '0a1b2c3d-0000-4000-8000-00000000a11c');
  const opk = b.oneTimePrekeys[0];
  const bundle = {
    wallet: 'bench', deviceId: 'bench', identityKey: b.identity.publicKey, signingKey: b.signing.publicKey,
    signedPrekeyId: b.signedPrekey.keyId, signedPrekey: b.signedPrekey.keyPair.publicKey,
    oneTimePrekeyId: opk.keyId, oneTimePrekey: opk.keyPair.publicKey,
  };
  let sa = c.initiateSession(a.identity, bundle);
  const first = c.encrypt(sa, c.utf8('{"v":1,"type":"text"}'), ctxAB);
  sa = first.session;
  const acc = c.acceptPrekeyMessage({
    identity: b.identity, signedPrekeys: [b.signedPrekey], oneTimePrekeys: b.oneTimePrekeys, existing: null,
    body: first.body, context: ctxAB,
  });
  return { sa, sb: acc.session, ctxAB, ctxBA };
}

/** Alice sends n messages, Bob decrypts each as it arrives (one sending chain: no DH per message). */
function benchStream(n) {
  let { sa, sb, ctxAB } = rawPair();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const r = c.encrypt(sa, MESSAGE, ctxAB);
    sa = r.session;
    sb = c.decrypt(sb, r.kind, r.body, ctxAB).session;
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: n / ((performance.now() - t0) / 1000), cpu: n / ((cpu.user + cpu.system) / 1e6) };
}

/** Strict alternation: every message carries a new ratchet key (two X25519 + one keygen per message). */
function benchPingPong(n) {
  let { sa, sb, ctxAB, ctxBA } = rawPair();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      const r = c.encrypt(sb, MESSAGE, ctxBA);
      sb = r.session;
      sa = c.decrypt(sa, r.kind, r.body, ctxBA).session;
    } else {
      const r = c.encrypt(sa, MESSAGE, ctxAB);
      sa = r.session;
      sb = c.decrypt(sb, r.kind, r.body, ctxAB).session;
    }
  }
  return { wall: n / ((performance.now() - t0) / 1000), cpu: n / (cpuSeconds(cpu0)) };
}

function cpuSeconds(since) {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

/** Through E2EDevice: JSON message object → envelope payload (base64) → decrypt → object. */
function benchSdk(n) {
  const a = party('a', 1);
  const b = party('b', 1);
  a.device.startSession(c.verifyPrekeyBundle({ ...b.record, one_time_prekey: b.reg.one_time_prekeys[0] }, b.wallet, b.device.deviceId));
  b.device.trust(c.verifyDeviceRecord(a.wallet, a.record));
  const msg = { v: 1, type: 'text', text: 'x'.repeat(200), sent_at: ISSUED }; // ~256 bytes of JSON
  const to = [{ wallet: b.wallet, deviceId: b.device.deviceId }];
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const [p] = a.device.encryptFor(CONV, to, msg);
    b.device.decrypt(CONV, a.wallet, a.device.deviceId, p);
  }
  return { wall: n / ((performance.now() - t0) / 1000), cpu: n / cpuSeconds(cpu0) };
}

/** Median milliseconds of each side's session setup. */
function benchSetup(rounds) {
  const b = party('setup-b', rounds);
  const bKeys = {
    identity: b.device.identity,
    spk: { keyId: b.device.signedPrekeyId, keyPair: c.x25519KeyPair(c.fromBase64(b.device.toJSON().spk.private)) },
    opks: new Map(Object.entries(b.device.toJSON().opks).map(([id, k]) => [Number(id), c.x25519KeyPair(c.fromBase64(k))])),
  };
  const aIdentity = c.generateX25519();
  const verifyMs = [];
  const initMs = [];
  const respMs = [];
  const cpu = { verify: 0, init: 0, resp: 0 };
  for (let i = 0; i < rounds; i++) {
    const raw = { ...b.record, one_time_prekey: b.reg.one_time_prekeys[i] };
    const t0 = performance.now();
    let u = process.cpuUsage();
    const bundle = c.verifyPrekeyBundle(raw, b.wallet, b.device.deviceId);
    cpu.verify += cpuSeconds(u);
    const t1 = performance.now();
    u = process.cpuUsage();
    const s = c.initiateSession(aIdentity, bundle);
    const r = c.encrypt(s, MESSAGE, c.utf8('ctx'));
    cpu.init += cpuSeconds(u);
    const t2 = performance.now();
    const msg = c.decodeBody('prekey', r.body);
    const t3 = performance.now();
    u = process.cpuUsage();
    const opk = { keyId: msg.oneTimePrekeyId, keyPair: bKeys.opks.get(msg.oneTimePrekeyId) };
    c.acceptPrekeyMessage({
      identity: bKeys.identity, signedPrekeys: [bKeys.spk], oneTimePrekeys: [opk], existing: null,
      body: msg, context: c.utf8('ctx'),
    });
    cpu.resp += cpuSeconds(u);
    const t4 = performance.now();
    verifyMs.push(t1 - t0);
    initMs.push(t2 - t1);
    respMs.push(t4 - t3);
  }
  return {
    initiator_x3dh_and_first_message_ms: round3(median(initMs)),
    initiator_bundle_verification_ms: round3(median(verifyMs)),
    initiator_total_ms: round3(median(verifyMs.map((v, i) => v + initMs[i]))),
    responder_x3dh_and_first_decrypt_ms: round3(median(respMs)),
    // Mean process CPU time per setup: robust to other load on the machine.
    cpu_time_ms: {
      initiator_bundle_verification: round3((cpu.verify / rounds) * 1000),
      initiator_x3dh_and_first_message: round3((cpu.init / rounds) * 1000),
      initiator_total: round3(((cpu.verify + cpu.init) / rounds) * 1000),
      responder_x3dh_and_first_decrypt: round3((cpu.resp / rounds) * 1000),
    },
  };
}

function benchMisc(rounds) {
  const ik = c.generateX25519().publicKey;
  const ik2 = c.generateX25519().publicKey;
  const safety = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    c.safetyNumber('0x' + 'aa'.repeat(20), ik, '0x' + 'bb'.repeat(20), ik2);
    safety.push(performance.now() - t0);
  }
  const p = party('backup', 0);
  const sig = c.personalSign(c.sha256(c.utf8('w')), 'x');
  const backup = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    c.decryptBackup(p.wallet, sig, c.encryptBackup(p.wallet, sig, p.device.backupKeys()));
    backup.push(performance.now() - t0);
  }
  return { safety_number_ms: round3(median(safety)), backup_encrypt_decrypt_ms: round3(median(backup)) };
}

const n = quick ? 2_000 : 20_000;
// Warm up the JIT so the first measured run is not the interpreter's.
benchStream(quick ? 200 : 2_000);
const runs = Array.from({ length: quick ? 1 : 3 }, () => benchStream(n));
const stream = Math.max(...runs.map((r) => r.wall));
const result = {
  benchmark: 'crypto-js',
  node: process.version,
  machine: `${process.arch} ${cpus().length} cpu`,
  message_bytes: MESSAGE.length,
  pairs_per_s_stream: Math.round(stream),
  // The same run measured in process CPU time: robust to other load on the machine.
  pairs_per_s_stream_cpu_time: Math.round(Math.max(...runs.map((r) => r.cpu))),
  ...(() => {
    const pp = benchPingPong(Math.max(200, n / 10));
    const sdk = benchSdk(n / 5);
    return {
      pairs_per_s_ping_pong: Math.round(pp.wall),
      pairs_per_s_ping_pong_cpu_time: Math.round(pp.cpu),
      pairs_per_s_sdk_json_base64: Math.round(sdk.wall),
      pairs_per_s_sdk_json_base64_cpu_time: Math.round(sdk.cpu),
    };
  })(),
  setup: benchSetup(quick ? 30 : 200),
  ...benchMisc(quick ? 3 : 10),
};
result.load_average_1m = Math.round(loadavg()[0] * 100) / 100;
console.log(JSON.stringify(result));
