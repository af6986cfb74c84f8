/**
 * X3DH key agreement (Signal spec, ATLAS labels).
 *   DH1 = X25519(IK_A, SPK_B)  DH2 = X25519(EK_A, IK_B)  DH3 = X25519(EK_A, SPK_B)  [DH4 = X25519(EK_A, OPK_B)]
 *   SK  = HKDF(salt = 0^32, ikm = 0xFF^32 ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4], info = "ATLAS-E2E-v1/x3dh", 32)
 *   AD  = "ATLAS-E2E-v1" ‖ IK_A_pub ‖ IK_B_pub
 */
import { type Bytes, concat, wipe } from './bytes.js';
import { dh, hkdfSha256, INFO_X3DH, type KeyPair, PROTOCOL, ZERO32 } from './primitives.js';

const FF32 = new Uint8Array(32).fill(0xff);

export interface X3dhResult {
  readonly sharedKey: Bytes;
  readonly associatedData: Bytes;
}

export function sessionAssociatedData(initiatorIdentity: Bytes, responderIdentity: Bytes): Bytes {
  return concat(PROTOCOL, initiatorIdentity, responderIdentity);
}

function derive(dhs: Bytes[]): Bytes {
  const ikm = concat(FF32, ...dhs);
  const sk = hkdfSha256(ikm, ZERO32, INFO_X3DH, 32);
  wipe(ikm, ...dhs);
  return sk;
}

/** Initiator side: `ephemeral` is EK_A (fresh per session). */
export function x3dhInitiator(
  identity: KeyPair,
  ephemeral: KeyPair,
  remoteIdentity: Bytes,
  remoteSignedPrekey: Bytes,
  remoteOneTimePrekey: Bytes | null,
): X3dhResult {
  const dhs = [
    dh(identity.privateKey, remoteSignedPrekey),
    dh(ephemeral.privateKey, remoteIdentity),
    dh(ephemeral.privateKey, remoteSignedPrekey),
  ];
  if (remoteOneTimePrekey) dhs.push(dh(ephemeral.privateKey, remoteOneTimePrekey));
  return { sharedKey: derive(dhs), associatedData: sessionAssociatedData(identity.publicKey, remoteIdentity) };
}

/** Responder side, from the prefix of a prekey message. */
export function x3dhResponder(
  identity: KeyPair,
  signedPrekey: KeyPair,
  oneTimePrekey: KeyPair | null,
  remoteIdentity: Bytes,
  remoteEphemeral: Bytes,
): X3dhResult {
  const dhs = [
    dh(signedPrekey.privateKey, remoteIdentity),
    dh(identity.privateKey, remoteEphemeral),
    dh(signedPrekey.privateKey, remoteEphemeral),
  ];
  if (oneTimePrekey) dhs.push(dh(oneTimePrekey.privateKey, remoteEphemeral));
  return { sharedKey: derive(dhs), associatedData: sessionAssociatedData(remoteIdentity, identity.publicKey) };
}
