// Shared helpers for the node tests: load the built bundle and the committed Python vectors.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..');
export const vectorsDir = join(repoRoot, 'tests', 'vectors', 'e2e');

export const c = await import(join(here, '..', '.build', 'crypto.mjs'));

export function vector(name) {
  return JSON.parse(readFileSync(join(vectorsDir, name), 'utf8'));
}

export const hex = (b) => c.toHex(b);
export const unhex = (s) => c.fromHex(s);

/** An Rng that hands out the listed 32-byte private keys in order (the vectors' DetKeyGen). */
export function listRng(keys) {
  let i = 0;
  const rng = (n) => {
    if (n !== 32) throw new Error(`listRng asked for ${n} bytes`);
    if (i >= keys.length) throw new Error('listRng exhausted');
    return c.fromHex(keys[i++].private);
  };
  rng.used = () => i;
  return rng;
}

/** The vectors' state_after view of a session. */
export function stateView(s) {
  return {
    rk: hex(s.rootKey),
    dhs_public: hex(s.sendingRatchetKey.publicKey),
    dhr: s.remoteRatchetKey ? hex(s.remoteRatchetKey) : null,
    cks: s.sendingChainKey ? hex(s.sendingChainKey) : null,
    ckr: s.receivingChainKey ? hex(s.receivingChainKey) : null,
    ns: s.sendCount,
    nr: s.receiveCount,
    pn: s.previousSendCount,
    skipped: [...s.skipped.keys()].sort(),
  };
}
