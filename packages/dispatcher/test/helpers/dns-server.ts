// A small authoritative DNS server on 127.0.0.1 (UDP, port 0) for the discovery tests: A, AAAA and SRV
// records with TTLs, NXDOMAIN for unknown names, and per-name failures (SERVFAIL, REFUSED, no answer).
// Its answers can be changed at any time; every query is counted.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface AddressRecord {
  readonly address: string;
  readonly ttl?: number;
}

export interface SrvRecord {
  readonly target: string;
  readonly port: number;
  readonly priority?: number;
  readonly weight?: number;
  readonly ttl?: number;
}

export interface Zone {
  readonly A?: readonly AddressRecord[];
  readonly AAAA?: readonly AddressRecord[];
  readonly SRV?: readonly SrvRecord[];
  /** Instead of answering: SERVFAIL, REFUSED, or silence (the client times out). */
  readonly fail?: 'servfail' | 'refused' | 'drop';
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_SRV = 33;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const RCODE_REFUSED = 5;

export class TestDnsServer {
  readonly #socket: Socket;
  readonly #zones = new Map<string, Zone>();
  /** Queries received, as `NAME TYPE` (`api.test A`). */
  readonly queries: string[] = [];
  readonly port: number;

  private constructor(socket: Socket, port: number) {
    this.#socket = socket;
    this.port = port;
    socket.on('message', (msg, rinfo) => this.#answer(msg, rinfo));
  }

  static async start(): Promise<TestDnsServer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new TestDnsServer(socket, socket.address().port);
  }

  /** `127.0.0.1:PORT`, for `dnsServers`. */
  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Sets (replaces) the records of `name`; `undefined` removes the name (NXDOMAIN). */
  set(name: string, zone: Zone | undefined): void {
    if (zone === undefined) this.#zones.delete(name.toLowerCase());
    else this.#zones.set(name.toLowerCase(), zone);
  }

  /** Queries of `name` received so far. */
  count(name: string): number {
    const prefix = `${name.toLowerCase()} `;
    return this.queries.filter((q) => q.startsWith(prefix)).length;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }

  #answer(msg: Buffer, rinfo: RemoteInfo): void {
    if (msg.length < 12) return;
    const id = msg.readUInt16BE(0);
    const flags = msg.readUInt16BE(2);
    let offset = 12;
    const labels: string[] = [];
    while (offset < msg.length) {
      const len = msg[offset] as number;
      offset++;
      if (len === 0) break;
      labels.push(msg.toString('latin1', offset, offset + len));
      offset += len;
    }
    if (offset + 4 > msg.length) return;
    const qtype = msg.readUInt16BE(offset);
    const questionEnd = offset + 4;
    const name = labels.join('.').toLowerCase();
    this.queries.push(
      `${name} ${qtype === TYPE_A ? 'A' : qtype === TYPE_AAAA ? 'AAAA' : qtype === TYPE_SRV ? 'SRV' : qtype}`,
    );

    const zone = this.#zones.get(name);
    if (zone?.fail === 'drop') return;
    let rcode = 0;
    const answers: Buffer[] = [];
    if (zone === undefined) rcode = RCODE_NXDOMAIN;
    else if (zone.fail === 'servfail') rcode = RCODE_SERVFAIL;
    else if (zone.fail === 'refused') rcode = RCODE_REFUSED;
    else if (qtype === TYPE_A)
      for (const r of zone.A ?? []) answers.push(record(TYPE_A, r.ttl ?? 30, ipv4(r.address)));
    else if (qtype === TYPE_AAAA)
      for (const r of zone.AAAA ?? []) answers.push(record(TYPE_AAAA, r.ttl ?? 30, ipv6(r.address)));
    else if (qtype === TYPE_SRV) {
      for (const r of zone.SRV ?? []) {
        const head = Buffer.alloc(6);
        head.writeUInt16BE(r.priority ?? 10, 0);
        head.writeUInt16BE(r.weight ?? 1, 2);
        head.writeUInt16BE(r.port, 4);
        answers.push(record(TYPE_SRV, r.ttl ?? 30, Buffer.concat([head, encodeName(r.target)])));
      }
    }

    const header = Buffer.alloc(12);
    header.writeUInt16BE(id, 0);
    // QR, the query's opcode and RD, AA, RA, and the answer's RCODE.
    header.writeUInt16BE(0x8000 | (flags & 0x7900) | 0x0400 | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const reply = Buffer.concat([header, msg.subarray(12, questionEnd), ...answers]);
    this.#socket.send(reply, rinfo.port, rinfo.address);
  }
}

/** One answer record whose owner is the question's name (a pointer to offset 12). */
function record(type: number, ttl: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt32BE(ttl, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter((l) => l !== '');
  return Buffer.concat([
    ...parts.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])),
    Buffer.from([0]),
  ]);
}

function ipv4(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

function ipv6(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
