// Local storage for keys, ratchet sessions and decrypted history: IndexedDB, every value sealed
// with AES-GCM under a per-account key that WebCrypto generated as non-extractable. Script can use
// that key but cannot read its bytes, so a copy of the IndexedDB files (or a script that dumps
// them) yields ciphertext only. The raw X25519/Ed25519 private keys of the E2E protocol live
// inside these sealed records, since the pure-JS implementation needs their bytes to compute.

const DB_NAME = "atlas-v1";
const STORES = ["wrapping", "kv", "messages"] as const;
type StoreName = (typeof STORES)[number];

interface Sealed {
  iv: Uint8Array<ArrayBuffer>;
  ct: ArrayBuffer;
}

function promisify<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
      for (const name of STORES) if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error("IndexedDB is blocked by another tab"));
  });
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Vault {
  private constructor(
    private readonly db: IDBDatabase,
    private readonly wallet: string,
    private readonly key: CryptoKey,
  ) {}

  static async open(wallet: string): Promise<Vault> {
    const db = await openDb();
    const tx = db.transaction("wrapping", "readonly");
    let key = (await promisify(tx.objectStore("wrapping").get(wallet))) as CryptoKey | undefined;
    if (!key) {
      key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
      const put = db.transaction("wrapping", "readwrite");
      // add(), not put(): if another tab raced us, keep the first key and use it.
      try {
        await promisify(put.objectStore("wrapping").add(key, wallet));
      } catch {
        const again = db.transaction("wrapping", "readonly");
        key = (await promisify(again.objectStore("wrapping").get(wallet))) as CryptoKey;
      }
    }
    return new Vault(db, wallet, key);
  }

  close(): void {
    this.db.close();
  }

  private slot(name: string): string {
    return `${this.wallet}|${name}`;
  }

  private async seal(slot: string, value: unknown): Promise<Sealed> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const ct = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(slot) },
      this.key,
      encoder.encode(JSON.stringify(value)),
    );
    return { iv, ct };
  }

  private async open<T>(slot: string, sealed: Sealed): Promise<T> {
    const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.iv, additionalData: encoder.encode(slot) }, this.key, sealed.ct);
    return JSON.parse(decoder.decode(pt)) as T;
  }

  async get<T>(name: string, store: StoreName = "kv"): Promise<T | undefined> {
    const slot = this.slot(name);
    const sealed = (await promisify(this.db.transaction(store, "readonly").objectStore(store).get(slot))) as Sealed | undefined;
    return sealed ? this.open<T>(slot, sealed) : undefined;
  }

  async put(name: string, value: unknown, store: StoreName = "kv"): Promise<void> {
    const slot = this.slot(name);
    const sealed = await this.seal(slot, value);
    await promisify(this.db.transaction(store, "readwrite").objectStore(store).put(sealed, slot));
  }

  async delete(name: string, store: StoreName = "kv"): Promise<void> {
    await promisify(this.db.transaction(store, "readwrite").objectStore(store).delete(this.slot(name)));
  }

  /** Every value whose name starts with `prefix`, in key order. */
  async list<T>(prefix: string, store: StoreName = "kv"): Promise<{ name: string; value: T }[]> {
    const start = this.slot(prefix);
    const range = IDBKeyRange.bound(start, `${start}\uffff`);
    const tx = this.db.transaction(store, "readonly").objectStore(store);
    const [keys, values] = await Promise.all([promisify(tx.getAllKeys(range)), promisify(tx.getAll(range))]);
    const out: { name: string; value: T }[] = [];
    for (let i = 0; i < keys.length; i++) {
      const slot = String(keys[i]);
      out.push({ name: slot.slice(this.wallet.length + 1), value: await this.open<T>(slot, values[i] as Sealed) });
    }
    return out;
  }
}
