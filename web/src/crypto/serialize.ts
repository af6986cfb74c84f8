/**
 * JSON-able session snapshots (Uint8Array → standard base64) for IndexedDB or any string store.
 * `sessionFromJson(sessionToJson(s))` is an exact round trip; unknown versions are refused.
 */
import { type Bytes, fromBase64, fromHex, toBase64, toHex } from './bytes.js';
import { CryptoError } from './errors.js';
import type { Session } from './ratchet.js';

export interface SessionJson {
  v: 1;
  role: 'initiator' | 'responder';
  ad: string;
  local_identity: string;
  remote_identity: string;
  root_key: string;
  dhs_private: string;
  dhs_public: string;
  dhr: string | null;
  cks: string | null;
  ckr: string | null;
  ns: number;
  nr: number;
  pn: number;
  skipped: { dh: string; n: number; mk: string }[];
  retired_dhr: string[];
  pending_prekey: {
    identity_key: string;
    ephemeral_key: string;
    signed_prekey_id: number;
    one_time_prekey_id: number | null;
  } | null;
  remote_ephemeral: string | null;
}

const b = toBase64;
const nb = (x: Bytes | null): string | null => (x ? toBase64(x) : null);
const d = fromBase64;
const nd = (x: string | null): Bytes | null => (x === null ? null : fromBase64(x));

export function sessionToJson(s: Session): SessionJson {
  const skipped: SessionJson['skipped'] = [];
  for (const [key, mk] of s.skipped) {
    const [dhHex, n] = key.split(':') as [string, string];
    skipped.push({ dh: b(fromHex(dhHex)), n: Number(n), mk: b(mk) });
  }
  const p = s.pendingPrekey;
  return {
    v: 1,
    role: s.role,
    ad: b(s.associatedData),
    local_identity: b(s.localIdentityKey),
    remote_identity: b(s.remoteIdentityKey),
    root_key: b(s.rootKey),
    dhs_private: b(s.sendingRatchetKey.privateKey),
    dhs_public: b(s.sendingRatchetKey.publicKey),
    dhr: nb(s.remoteRatchetKey),
    cks: nb(s.sendingChainKey),
    ckr: nb(s.receivingChainKey),
    ns: s.sendCount,
    nr: s.receiveCount,
    pn: s.previousSendCount,
    skipped,
    retired_dhr: s.retiredRemoteKeys.map(b),
    pending_prekey: p
      ? {
          identity_key: b(p.identityKey),
          ephemeral_key: b(p.ephemeralKey),
          signed_prekey_id: p.signedPrekeyId,
          one_time_prekey_id: p.oneTimePrekeyId,
        }
      : null,
    remote_ephemeral: nb(s.remoteEphemeralKey),
  };
}

export function sessionFromJson(j: SessionJson): Session {
  if (!j || j.v !== 1) throw new CryptoError('invalid_encoding', 'unsupported session snapshot version');
  const skipped = new Map<string, Bytes>();
  for (const e of j.skipped) skipped.set(`${toHex(d(e.dh))}:${e.n}`, d(e.mk));
  const p = j.pending_prekey;
  return {
    version: 1,
    role: j.role,
    associatedData: d(j.ad),
    localIdentityKey: d(j.local_identity),
    remoteIdentityKey: d(j.remote_identity),
    rootKey: d(j.root_key),
    sendingRatchetKey: { privateKey: d(j.dhs_private), publicKey: d(j.dhs_public) },
    remoteRatchetKey: nd(j.dhr),
    sendingChainKey: nd(j.cks),
    receivingChainKey: nd(j.ckr),
    sendCount: j.ns,
    receiveCount: j.nr,
    previousSendCount: j.pn,
    skipped,
    retiredRemoteKeys: j.retired_dhr.map(d),
    pendingPrekey: p
      ? {
          identityKey: d(p.identity_key),
          ephemeralKey: d(p.ephemeral_key),
          signedPrekeyId: p.signed_prekey_id,
          oneTimePrekeyId: p.one_time_prekey_id,
        }
      : null,
    remoteEphemeralKey: nd(j.remote_ephemeral),
  };
}
