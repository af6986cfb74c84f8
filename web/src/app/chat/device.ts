// This browser's device for one account: an E2EDevice (web/src/crypto) generated here on first use,
// bound to the wallet by a personal_sign of the CONTRACT §5 text, published with
// PUT /v1/devices/{id}, and persisted sealed in the vault after every state change.
// Also the verified view of other devices (the peer's and our own other ones).

import * as api from "../../api/generated";
import { ApiError } from "../../api/runtime";
import { type DeviceRecordJson, E2EDevice, type E2EDeviceJson, type VerifiedDevice, toBase64, verifyDeviceRecord } from "../../crypto";
import { signerFor } from "../auth";
import { personalSign } from "../wallet";
import type { Vault } from "./vault";

const OPK_UPLOAD = 40;
const OPK_LOW_WATER = 10;

interface StoredDevice {
  e2e: E2EDeviceJson;
  issuedAt: string;
  registered: boolean;
}

export interface KeyChange {
  wallet: string;
  deviceId: string;
  kind: "changed" | "added";
}

function rfc3339Now(): string {
  return `${new Date().toISOString().slice(0, 19)}Z`;
}

export class LocalDevice {
  private constructor(
    private readonly vault: Vault,
    readonly wallet: string,
    readonly e2e: E2EDevice,
    private issuedAt: string,
    private isRegistered: boolean,
  ) {}

  get id(): string {
    return this.e2e.deviceId;
  }

  get registered(): boolean {
    return this.isRegistered;
  }

  /** Loads this browser's device for the account, generating (not yet publishing) keys on first use. */
  static async load(vault: Vault, wallet: string): Promise<LocalDevice> {
    const stored = await vault.get<StoredDevice>("device");
    if (stored) return new LocalDevice(vault, wallet, E2EDevice.fromJSON(stored.e2e), stored.issuedAt, stored.registered);
    const device = new LocalDevice(vault, wallet, E2EDevice.generate(wallet, crypto.randomUUID()), rfc3339Now(), false);
    await device.save();
    return device;
  }

  /** Persists keys and sessions; called after every encrypt/decrypt so a reload loses nothing. */
  async save(): Promise<void> {
    await this.vault.put("device", { e2e: this.e2e.toJSON(), issuedAt: this.issuedAt, registered: this.isRegistered } satisfies StoredDevice);
  }

  /**
   * Publishes the device: the wallet signs the binding (one personal_sign prompt), then
   * PUT /v1/devices/{id}. The one-time prekeys' private halves are saved before their public
   * halves leave the browser.
   */
  async register(): Promise<void> {
    if (this.isRegistered) return;
    const provider = await signerFor(this.wallet);
    const signature = await personalSign(provider, this.wallet, this.e2e.bindingStatement(this.issuedAt));
    const body = this.e2e.registrationBody(signature, this.issuedAt, OPK_UPLOAD);
    await this.save();
    await api.putDevice(this.id, body);
    this.isRegistered = true;
    await this.save();
  }

  /** Tops the server's one-time prekey pool up when it runs low, and rotates the signed prekey when due. */
  async replenish(): Promise<void> {
    const rotate = this.e2e.spkDue();
    if (this.e2e.oneTimePrekeyCount >= OPK_LOW_WATER && !rotate) return;
    const body = this.e2e.prekeysBody({ oneTimePrekeys: OPK_UPLOAD, rotateSignedPrekey: rotate });
    await this.save();
    try {
      await api.addPrekeys(this.id, body);
    } catch (err) {
      console.warn("could not upload prekeys", err);
    }
  }
}

interface DeviceListCache {
  at: number;
  devices: VerifiedDevice[];
}

interface KnownDevice {
  identityKey: string;
  firstSeen: string;
}

/**
 * The devices of an account as the server lists them, each verified here (wallet binding and
 * signed prekey: the server's word is never taken); a record that fails is dropped. Remembers each
 * device's identity key so a change, or a new device, can be shown to the user.
 */
export class DeviceDirectory {
  private cache = new Map<string, DeviceListCache>();
  constructor(
    private readonly vault: Vault,
    private readonly onKeyChange: (change: KeyChange) => void,
  ) {}

  invalidate(wallet: string): void {
    this.cache.delete(wallet);
  }

  async devices(wallet: string, maxAgeMs = 5000): Promise<VerifiedDevice[]> {
    const hit = this.cache.get(wallet);
    if (hit && Date.now() - hit.at < maxAgeMs) return hit.devices;
    const listing = await api.listDevices(wallet, { anonymous: true });
    const verified: VerifiedDevice[] = [];
    for (const record of listing.devices) {
      try {
        verified.push(verifyDeviceRecord(wallet, record as unknown as DeviceRecordJson, record.device_id));
      } catch (err) {
        console.warn(`ignoring device ${record.device_id} of ${wallet}: ${(err as Error).message}`);
      }
    }
    await this.remember(wallet, verified);
    this.cache.set(wallet, { at: Date.now(), devices: verified });
    return verified;
  }

  async find(wallet: string, deviceId: string): Promise<VerifiedDevice | null> {
    let found = (await this.devices(wallet)).find((d) => d.deviceId === deviceId);
    if (!found) found = (await this.devices(wallet, 0)).find((d) => d.deviceId === deviceId);
    return found ?? null;
  }

  private async remember(wallet: string, devices: VerifiedDevice[]): Promise<void> {
    const name = `known|${wallet}`;
    const known = (await this.vault.get<Record<string, KnownDevice>>(name)) ?? {};
    const hadAny = Object.keys(known).length > 0;
    let changed = false;
    for (const d of devices) {
      const ik = toBase64(d.identityKey);
      const prev = known[d.deviceId];
      if (prev && prev.identityKey === ik) continue;
      if (prev) this.onKeyChange({ wallet, deviceId: d.deviceId, kind: "changed" });
      else if (hadAny) this.onKeyChange({ wallet, deviceId: d.deviceId, kind: "added" });
      known[d.deviceId] = { identityKey: ik, firstSeen: new Date().toISOString() };
      changed = true;
    }
    if (changed) await this.vault.put(name, known);
  }
}

export function isMissingDevice(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404;
}
