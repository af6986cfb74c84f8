// The messaging engine: encrypts per recipient device (X3DH + Double Ratchet from web/src/crypto),
// speaks the §4 WebSocket protocol with resume and reconnect, decrypts what arrives exactly once,
// and keeps the decrypted history in the sealed vault. The server only ever sees envelopes.
//
// Every ratchet step runs through one queue, so two frames can never race on a session.

import * as api from "../../api/generated";
import { ApiError } from "../../api/runtime";
import {
  CryptoError,
  type MessageContent,
  type PrekeyBundleJson,
  type VerifiedDevice,
  receiptContent,
  textContent,
  verifyPrekeyBundle,
  equalBytes,
} from "../../crypto";
import { freshAccessToken, refreshTokens } from "../session";
import { DeviceDirectory, type KeyChange, LocalDevice, isMissingDevice } from "./device";
import { Vault } from "./vault";

export type Conversation = api.ConversationOut;
type MessageOut = api.MessageOut;
type Envelope = api.Envelope;
type Payload = api.Payload;


export interface StoredMessage {
  conv: string;
  seq: number;
  sender: string;
  senderDevice: string;
  mine: boolean;
  /** text: shown; receipt: an encrypted read/delivered marker (hidden); unavailable: could not decrypt here. */
  kind: "text" | "receipt" | "unavailable";
  text: string;
  sentAt: string | null;
  serverTs: string;
  clientMsgId: string;
}

export interface PendingMessage {
  conv: string;
  clientMsgId: string;
  text: string;
  sentAt: string;
  state: "sending" | "failed";
  error?: string;
}

export interface ConvMeta {
  lastSeq: number;
  readUpTo: number;
  readSent: number;
  peerDeliveredUpTo: number;
  peerReadUpTo: number;
  alert: KeyChange | null;
}

export type Status = "connecting" | "online" | "offline";

export type EngineEvent =
  | { type: "status"; status: Status }
  | { type: "message"; conv: string; message: StoredMessage }
  | { type: "pending"; conv: string }
  | { type: "receipt"; conv: string }
  | { type: "typing"; conv: string; from: string; state: "start" | "stop" }
  | { type: "keychange"; change: KeyChange }
  | { type: "conversations" };

const EMPTY_META: ConvMeta = { lastSeq: 0, readUpTo: 0, readSent: 0, peerDeliveredUpTo: 0, peerReadUpTo: 0, alert: null };
const ACK_TIMEOUT_MS = 8000;

function seqKey(conv: string, seq: number): string {
  return `msg|${conv}|${String(seq).padStart(12, "0")}`;
}

export class Engine {
  private queue: Promise<unknown> = Promise.resolve();
  private ws: WebSocket | null = null;
  private wsReady = false;
  private attempts = 0;
  private retryTimer: number | null = null;
  private stopped = false;
  private lastFrameAt = 0;
  private heartbeat: number | null = null;
  private listeners = new Set<(e: EngineEvent) => void>();
  private acks = new Map<string, { resolve: (ack: { seq: number; server_ts: string }) => void; reject: (err: SendRefused) => void }>();
  private pending = new Map<string, PendingMessage>();
  private metas = new Map<string, ConvMeta>();
  readonly directory: DeviceDirectory;
  status: Status = "connecting";
  conversations = new Map<string, Conversation>();

  private constructor(
    readonly wallet: string,
    private readonly vault: Vault,
    readonly device: LocalDevice,
  ) {
    this.directory = new DeviceDirectory(vault, (change) => void this.onKeyChange(change));
  }

  static async start(wallet: string): Promise<Engine> {
    const vault = await Vault.open(wallet);
    const device = await LocalDevice.load(vault, wallet);
    return new Engine(wallet, vault, device);
  }

  on(fn: (e: EngineEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(e: EngineEvent): void {
    for (const fn of this.listeners) fn(e);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Publishes this device if needed (asks the wallet to sign the binding once). */
  async ensureRegistered(): Promise<void> {
    if (this.device.registered) {
      return;
    }
    await this.device.register();
  }

  // ---- metadata ------------------------------------------------------------------------------

  async meta(conv: string): Promise<ConvMeta> {
    let m = this.metas.get(conv);
    if (!m) {
      m = { ...EMPTY_META, ...((await this.vault.get<ConvMeta>(`meta|${conv}`)) ?? {}) };
      this.metas.set(conv, m);
    }
    return m;
  }

  private async updateMeta(conv: string, change: (m: ConvMeta) => void): Promise<ConvMeta> {
    const m = await this.meta(conv);
    change(m);
    await this.vault.put(`meta|${conv}`, m);
    return m;
  }

  async dismissAlert(conv: string): Promise<void> {
    await this.updateMeta(conv, (m) => {
      m.alert = null;
    });
  }

  private async onKeyChange(change: KeyChange): Promise<void> {
    for (const conv of this.conversations.values()) {
      if (conv.peer === change.wallet || change.wallet === this.wallet) {
        await this.updateMeta(conv.id, (m) => {
          m.alert = change;
        });
      }
    }
    this.emit({ type: "keychange", change });
  }

  // ---- history -------------------------------------------------------------------------------

  async history(conv: string): Promise<StoredMessage[]> {
    const rows = await this.vault.list<StoredMessage>(`msg|${conv}|`, "messages");
    return rows.map((r) => r.value);
  }

  pendingFor(conv: string): PendingMessage[] {
    return [...this.pending.values()].filter((p) => p.conv === conv);
  }

  /** The last shown message and the unread count of a conversation, from local history. */
  async summary(conv: Conversation): Promise<{ last: StoredMessage | null; unread: number }> {
    const history = await this.history(conv.id);
    const meta = await this.meta(conv.id);
    const readUpTo = Math.max(meta.readUpTo, conv.read_up_to);
    const visible = history.filter((m) => m.kind !== "receipt");
    const unread = visible.filter((m) => !m.mine && m.seq > readUpTo).length;
    return { last: visible.at(-1) ?? null, unread };
  }

  async search(query: string): Promise<StoredMessage[]> {
    const q = query.trim().toLowerCase();
    if (!q) return [];
    const rows = await this.vault.list<StoredMessage>("msg|", "messages");
    return rows.map((r) => r.value).filter((m) => m.kind === "text" && m.text.toLowerCase().includes(q));
  }

  // ---- conversations -------------------------------------------------------------------------

  async loadConversations(): Promise<Conversation[]> {
    const inbox = await api.listConversations({ device_id: this.device.id });
    // Messages themselves arrive over the socket (backlog first, in seq order) or through sync():
    // decrypting a last message here, ahead of the earlier ones, would acknowledge those as delivered.
    for (const c of inbox.conversations) this.conversations.set(c.id, c);
    return inbox.conversations;
  }

  async conversation(id: string): Promise<Conversation> {
    const c = await api.getConversation(id);
    this.conversations.set(c.id, c);
    return c;
  }

  async startConversation(peer: string): Promise<Conversation> {
    const c = await api.startConversation({ peer });
    this.conversations.set(c.id, c);
    this.emit({ type: "conversations" });
    return c;
  }

  async accept(id: string): Promise<Conversation> {
    const c = await api.acceptConversation(id);
    this.conversations.set(c.id, c);
    this.emit({ type: "conversations" });
    return c;
  }

  async block(id: string): Promise<Conversation> {
    const c = await api.blockConversation(id);
    this.conversations.set(c.id, c);
    this.emit({ type: "conversations" });
    return c;
  }

  /** Fetches the latest page from the server and decrypts whatever this device has not seen yet. */
  async sync(conv: string): Promise<void> {
    const page = await api.listMessages(conv, { limit: 100, device_id: this.device.id });
    const meta = await this.meta(conv);
    for (const m of page.messages) if (m.seq > meta.lastSeq || !(await this.vault.get(seqKey(conv, m.seq), "messages"))) await this.receive(m);
  }

  // ---- sessions ------------------------------------------------------------------------------

  /** Records a verified device's identity (a change drops its sessions) and makes sure a session exists. */
  private async ensureSession(target: VerifiedDevice): Promise<void> {
    const e2e = this.device.e2e;
    e2e.trust(target);
    if (e2e.hasSession(target.wallet, target.deviceId)) return;
    const bundleJson = await api.prekeyBundle(target.wallet, target.deviceId, { anonymous: true });
    const bundle = verifyPrekeyBundle(bundleJson as unknown as PrekeyBundleJson, target.wallet, target.deviceId);
    if (!equalBytes(bundle.identityKey, target.identityKey)) throw new CryptoError("binding_invalid", "bundle identity differs from the device list");
    e2e.startSession(bundle);
  }

  private async encryptFor(conv: string, targets: VerifiedDevice[], content: MessageContent): Promise<Payload[]> {
    for (const t of targets) await this.ensureSession(t);
    const payloads = this.device.e2e.encryptFor(conv, targets, content);
    await this.device.save();
    return payloads;
  }

  private async recipients(peer: string): Promise<VerifiedDevice[]> {
    // Fresh lists for every send: a device added a moment ago must get its payload.
    const [theirs, mine] = await Promise.all([this.directory.devices(peer, 0), this.directory.devices(this.wallet, 0)]);
    return [...theirs, ...mine.filter((d) => d.deviceId !== this.device.id)];
  }

  // ---- sending -------------------------------------------------------------------------------

  async sendText(conv: string, peer: string, text: string): Promise<void> {
    const pending: PendingMessage = { conv, clientMsgId: crypto.randomUUID(), text, sentAt: new Date().toISOString(), state: "sending" };
    this.pending.set(pending.clientMsgId, pending);
    this.emit({ type: "pending", conv });
    try {
      const ack = await this.serial(() => this.sendContent(conv, peer, pending.clientMsgId, textContent(text, pending.sentAt), true));
      const stored: StoredMessage = {
        conv,
        seq: ack.seq,
        sender: this.wallet,
        senderDevice: this.device.id,
        mine: true,
        kind: "text",
        text,
        sentAt: pending.sentAt,
        serverTs: ack.server_ts,
        clientMsgId: pending.clientMsgId,
      };
      await this.store(stored);
      this.pending.delete(pending.clientMsgId);
      this.emit({ type: "message", conv, message: stored });
    } catch (err) {
      pending.state = "failed";
      pending.error = err instanceof Error ? err.message : String(err);
      this.emit({ type: "pending", conv });
    }
  }

  async retry(clientMsgId: string, peer: string): Promise<void> {
    const p = this.pending.get(clientMsgId);
    if (!p) return;
    this.pending.delete(clientMsgId);
    await this.sendText(p.conv, peer, p.text);
  }

  /** The read receipt the peer sees: an encrypted `read` message (the server only relays it). */
  private async sendReadReceipt(conv: string, peer: string, upTo: number): Promise<void> {
    await this.serial(async () => {
      const clientMsgId = crypto.randomUUID();
      const ack = await this.sendContent(conv, peer, clientMsgId, receiptContent("read", upTo), false);
      await this.store({ conv, seq: ack.seq, sender: this.wallet, senderDevice: this.device.id, mine: true, kind: "receipt", text: "", sentAt: null, serverTs: ack.server_ts, clientMsgId });
    });
  }

  /**
   * Encrypts for every current device of the peer and our other devices, and delivers. When the
   * server says the device lists changed under us (a device added or revoked), refetch and retry once.
   */
  private async sendContent(conv: string, peer: string, clientMsgId: string, content: MessageContent, requirePeer: boolean): Promise<{ seq: number; server_ts: string }> {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        this.directory.invalidate(peer);
        this.directory.invalidate(this.wallet);
      }
      const targets = await this.recipients(peer);
      if (requirePeer && !targets.some((t) => t.wallet === peer)) {
        throw new Error("They have not set up ATLAS messaging on any device yet, so nothing can be encrypted for them.");
      }
      if (targets.length === 0) throw new Error("nobody to send to");
      const payloads = await this.encryptFor(conv, targets, content);
      try {
        return await this.deliver(conv, { client_msg_id: clientMsgId, sender_device: this.device.id, payloads });
      } catch (err) {
        if (attempt === 0 && err instanceof SendRefused && (err.code === "missing_device" || err.code === "unknown_device")) continue;
        throw err;
      }
    }
  }

  /** Over the socket when it is up (ack by client_msg_id), else the REST endpoint; both idempotent. */
  private async deliver(conv: string, envelope: Envelope): Promise<{ seq: number; server_ts: string }> {
    if (this.ws && this.wsReady) {
      const socket = this.ws;
      try {
        return await new Promise((resolve, reject) => {
          const timer = window.setTimeout(() => {
            this.acks.delete(envelope.client_msg_id);
            reject(new Error("ack timeout"));
          }, ACK_TIMEOUT_MS);
          this.acks.set(envelope.client_msg_id, {
            resolve: (ack) => {
              window.clearTimeout(timer);
              resolve(ack);
            },
            reject: (err) => {
              window.clearTimeout(timer);
              reject(err);
            },
          });
          socket.send(JSON.stringify({ type: "send", conversation_id: conv, envelope }));
        });
      } catch (err) {
        if (err instanceof SendRefused) throw err;
        /* no answer: fall through to REST with the same client_msg_id (the server answers the original seq) */
      }
    }
    try {
      const ack = await api.sendMessage(conv, envelope);
      return { seq: ack.seq, server_ts: ack.server_ts };
    } catch (err) {
      if (err instanceof ApiError && err.status !== 0) throw new SendRefused(err.code, err.message);
      throw err;
    }
  }

  // ---- receiving -----------------------------------------------------------------------------

  private async store(message: StoredMessage): Promise<void> {
    await this.vault.put(seqKey(message.conv, message.seq), message, "messages");
    await this.updateMeta(message.conv, (m) => {
      m.lastSeq = Math.max(m.lastSeq, message.seq);
      if (message.mine && message.kind !== "receipt") m.readUpTo = Math.max(m.readUpTo, message.seq);
    });
  }

  receive(frame: MessageOut): Promise<void> {
    return this.serial(() => this.receiveNow(frame));
  }

  private async receiveNow(frame: MessageOut): Promise<void> {
    const conv = frame.conversation_id;
    if (await this.vault.get(seqKey(conv, frame.seq), "messages")) return;
    const env = frame.envelope;
    const sender = frame.sender.toLowerCase();
    const base = { conv, seq: frame.seq, sender, senderDevice: env.sender_device, mine: sender === this.wallet, serverTs: frame.server_ts, clientMsgId: env.client_msg_id };
    const payload = env.payloads.find((p) => p.device_id === this.device.id);
    let message: StoredMessage;
    if (!payload) {
      message = { ...base, kind: "unavailable", text: "", sentAt: null };
      const pending = this.pending.get(env.client_msg_id);
      if (pending) message = { ...message, kind: "text", text: pending.text, sentAt: pending.sentAt };
    } else {
      try {
        const content = await this.open(conv, sender, env.sender_device, payload);
        if (content.type === "text" && typeof content.text === "string") {
          message = { ...base, kind: "text", text: content.text, sentAt: typeof content.sent_at === "string" ? content.sent_at : null };
        } else if ((content.type === "read" || content.type === "delivered") && typeof content.up_to === "number") {
          message = { ...base, kind: "receipt", text: "", sentAt: null };
          const upTo = content.up_to;
          if (!base.mine) {
            await this.updateMeta(conv, (m) => {
              if (content.type === "read") m.peerReadUpTo = Math.max(m.peerReadUpTo, upTo);
              m.peerDeliveredUpTo = Math.max(m.peerDeliveredUpTo, upTo);
            });
            this.emit({ type: "receipt", conv });
          } else if (content.type === "read") {
            await this.updateMeta(conv, (m) => {
              m.readUpTo = Math.max(m.readUpTo, upTo);
            });
          }
        } else {
          message = { ...base, kind: "receipt", text: "", sentAt: null };
        }
      } catch (err) {
        console.warn(`message ${conv}#${frame.seq} could not be decrypted: ${(err as Error).message}`);
        message = { ...base, kind: "unavailable", text: "", sentAt: null };
      }
    }
    await this.store(message);
    if (!message.mine) this.sendFrame({ type: "receipt", conversation_id: conv, kind: "delivered", up_to: frame.seq });
    this.emit({ type: "message", conv, message });
  }

  private async open(conv: string, sender: string, senderDevice: string, payload: Payload): Promise<MessageContent> {
    const device = await this.directory.find(sender, senderDevice);
    if (!device) throw new CryptoError("unknown_device", "the sending device is not bound to the sender's wallet");
    this.device.e2e.trust(device);
    const result = this.device.e2e.decrypt(conv, sender, senderDevice, payload);
    await this.device.save();
    if (result.newSession) await this.device.replenish();
    return result.message;
  }

  // ---- receipts and typing -------------------------------------------------------------------

  private reads = new Map<string, Promise<void>>();

  /** The user has seen the conversation: private read marker (own devices) + encrypted receipt (peer). */
  markRead(conv: string, peer: string): Promise<void> {
    const next = (this.reads.get(conv) ?? Promise.resolve()).then(() => this.markReadNow(conv, peer));
    this.reads.set(conv, next.catch(() => undefined));
    return next;
  }

  private async markReadNow(conv: string, peer: string): Promise<void> {
    const history = await this.history(conv);
    const lastPeer = history.filter((m) => !m.mine && m.kind === "text").at(-1);
    if (!lastPeer) return;
    const meta = await this.meta(conv);
    if (lastPeer.seq > meta.readUpTo) {
      await this.updateMeta(conv, (m) => {
        m.readUpTo = lastPeer.seq;
      });
      if (!this.sendFrame({ type: "receipt", conversation_id: conv, kind: "read", up_to: lastPeer.seq })) {
        await api.markRead(conv, { up_to: lastPeer.seq }).catch(() => undefined);
      }
      this.emit({ type: "conversations" });
    }
    const state = this.conversations.get(conv)?.state;
    if (lastPeer.seq > meta.readSent && state === "accepted") {
      try {
        await this.sendReadReceipt(conv, peer, lastPeer.seq);
        await this.updateMeta(conv, (m) => {
          m.readSent = Math.max(m.readSent, lastPeer.seq);
        });
      } catch (err) {
        console.warn("read receipt not sent", err);
      }
    }
  }

  typing(conv: string, state: "start" | "stop"): void {
    this.sendFrame({ type: "typing", conversation_id: conv, state });
  }

  async safetyNumbers(peer: string): Promise<{ deviceId: string; digits: string; mine: boolean }[]> {
    const [theirs, mine] = await Promise.all([this.directory.devices(peer, 0), this.directory.devices(this.wallet, 0)]);
    const e2e = this.device.e2e;
    const out: { deviceId: string; digits: string; mine: boolean }[] = [];
    for (const d of [...theirs, ...mine.filter((m) => m.deviceId !== this.device.id)]) {
      e2e.trust(d);
      out.push({ deviceId: d.deviceId, mine: d.wallet === this.wallet, digits: e2e.safetyNumber(d.wallet, d.deviceId) });
    }
    await this.device.save();
    return out;
  }

  // ---- socket --------------------------------------------------------------------------------

  private setStatus(status: Status): void {
    if (this.status === status) return;
    this.status = status;
    this.emit({ type: "status", status });
  }

  private sendFrame(frame: Record<string, unknown>): boolean {
    if (!this.ws || !this.wsReady) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  connect(): void {
    if (this.stopped || this.ws) return;
    this.setStatus("connecting");
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/ws`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => void this.authenticate(ws);
    ws.onmessage = (ev) => {
      this.lastFrameAt = Date.now();
      this.onFrame(ws, ev.data);
    };
    ws.onclose = () => {
      if (this.ws === ws) {
        this.ws = null;
        this.wsReady = false;
        this.setStatus("offline");
        this.scheduleReconnect();
      }
    };
  }

  private async authenticate(ws: WebSocket): Promise<void> {
    const token = await freshAccessToken();
    if (!token) {
      ws.close();
      return;
    }
    const resume: Record<string, number> = {};
    for (const id of this.conversations.keys()) resume[id] = (await this.meta(id)).lastSeq;
    ws.send(JSON.stringify({ type: "auth", token, device_id: this.device.id, resume }));
  }

  private onFrame(ws: WebSocket, data: unknown): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(String(data)) as Record<string, unknown>;
    } catch {
      return;
    }
    switch (frame.type) {
      case "ready":
        this.wsReady = true;
        this.attempts = 0;
        this.setStatus("online");
        this.startHeartbeat(ws);
        break;
      case "message":
        void this.receive(frame as unknown as MessageOut).catch((err: unknown) => console.warn("receive failed", err));
        break;
      case "ack": {
        const waiter = this.acks.get(String(frame.client_msg_id));
        if (waiter) {
          this.acks.delete(String(frame.client_msg_id));
          waiter.resolve({ seq: Number(frame.seq), server_ts: String(frame.server_ts) });
        }
        break;
      }
      case "receipt":
        void this.onReceipt(frame);
        break;
      case "typing":
        this.emit({ type: "typing", conv: String(frame.conversation_id), from: String(frame.from ?? ""), state: frame.state === "start" ? "start" : "stop" });
        break;
      case "conversation":
        // A request arrived, or the peer accepted or blocked: refresh the list (and the open view).
        void this.loadConversations()
          .catch(() => [])
          .then(() => this.emit({ type: "conversations" }));
        break;
      case "error":
        if (typeof frame.client_msg_id === "string" && this.acks.has(frame.client_msg_id)) {
          const waiter = this.acks.get(frame.client_msg_id);
          this.acks.delete(frame.client_msg_id);
          waiter?.reject(new SendRefused(String(frame.code), String(frame.detail ?? "")));
        } else if (!this.wsReady) {
          // An auth failure: refresh the token, then the reconnect authenticates again.
          void refreshTokens().finally(() => ws.close());
        } else {
          console.warn(`socket error frame: ${String(frame.code)} ${String(frame.detail ?? "")}`);
        }
        break;
      default:
        break;
    }
  }

  private async onReceipt(frame: Record<string, unknown>): Promise<void> {
    const conv = String(frame.conversation_id);
    const upTo = Number(frame.up_to);
    const from = String(frame.from ?? "").toLowerCase();
    if (!Number.isSafeInteger(upTo)) return;
    if (frame.kind === "delivered" && from !== this.wallet) {
      await this.updateMeta(conv, (m) => {
        m.peerDeliveredUpTo = Math.max(m.peerDeliveredUpTo, upTo);
      });
    } else if (frame.kind === "read") {
      await this.updateMeta(conv, (m) => {
        m.readUpTo = Math.max(m.readUpTo, upTo);
      });
      this.emit({ type: "conversations" });
    }
    this.emit({ type: "receipt", conv });
  }

  /**
   * A socket can die without a close (a laptop lid, a NAT timeout): ping every 20 s and drop the
   * connection when nothing, not even the pong, came back for 45 s. The reconnect then resumes.
   */
  private startHeartbeat(ws: WebSocket): void {
    if (this.heartbeat !== null) window.clearInterval(this.heartbeat);
    this.lastFrameAt = Date.now();
    this.heartbeat = window.setInterval(() => {
      if (this.ws !== ws) {
        if (this.heartbeat !== null) window.clearInterval(this.heartbeat);
        this.heartbeat = null;
        return;
      }
      if (Date.now() - this.lastFrameAt > 45_000) this.drop();
      else this.sendFrame({ type: "ping" });
    }, 20_000);
  }

  /** Closes the current socket now (the browser went offline, or the socket went silent). */
  drop(): void {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.wsReady = false;
    ws.onclose = null;
    ws.close();
    this.setStatus("offline");
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    // While the browser says it is offline, wait for its "online" event (see nudge) instead.
    if (this.stopped || this.retryTimer !== null || !navigator.onLine) return;
    const delay = Math.min(30_000, 500 * 2 ** this.attempts) * (0.75 + Math.random() * 0.5);
    this.attempts += 1;
    this.retryTimer = window.setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  /** Reconnect now (the browser came back online or the tab became visible). */
  nudge(): void {
    if (this.ws || this.stopped) return;
    if (this.retryTimer !== null) {
      window.clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.heartbeat !== null) window.clearInterval(this.heartbeat);
    if (this.retryTimer !== null) window.clearTimeout(this.retryTimer);
    const ws = this.ws;
    this.ws = null;
    this.wsReady = false;
    ws?.close();
    this.vault.close();
    this.listeners.clear();
  }
}

/** The server refused a send (its problem code says why: request_not_accepted, conversation_blocked, …). */
export class SendRefused extends Error {
  constructor(
    readonly code: string,
    detail: string,
  ) {
    super(SEND_ERRORS[code] ?? (detail || code));
    this.name = "SendRefused";
  }
}

const SEND_ERRORS: Record<string, string> = {
  request_not_accepted: "Accept the request before replying.",
  conversation_blocked: "This conversation is blocked.",
  request_rate_limited: "You have sent too many message requests. Try again later.",
  envelope_too_large: "The message is too long.",
};

export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (isMissingDevice(err)) return "This device is no longer registered.";
  return err instanceof Error ? err.message : String(err);
}
