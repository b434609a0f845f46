// Decodes the CBOR of a Chainlink request's `data` (what ChainlinkClient's
// Chainlink.Request buffer holds): a sequence of key, value, key, value, ...
// items with no map header (the node wraps it in an indefinite map).  Only
// what CBORChainlink.sol emits is needed -- integers, byte and text strings,
// arrays (definite or indefinite), maps, and the bignum tags 2 and 3 -- but
// the whole of RFC 8949's data model except floats is read, for errors that
// say where the data went wrong rather than a wrong answer.

class Reader {
  constructor(bytes) {
    this.b = bytes;
    this.at = 0;
  }

  fail(why) {
    throw new Error(`CBOR at byte ${this.at}: ${why}`);
  }

  byte() {
    if (this.at >= this.b.length) this.fail('data ends inside an item');
    return this.b[this.at++];
  }

  take(n) {
    if (this.at + n > this.b.length) this.fail(`item of ${n} bytes runs past the end`);
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  // The argument of an initial byte: its additional information, or the
  // 1/2/4/8 bytes after it; null for an indefinite length (31).
  argument(info) {
    if (info < 24) return BigInt(info);
    if (info === 31) return null;
    const size = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
    if (!size) this.fail(`reserved additional information ${info}`);
    let v = 0n;
    for (const x of this.take(size)) v = (v << 8n) | BigInt(x);
    return v;
  }

  length(info, what) {
    const n = this.argument(info);
    if (n === null) return null;
    if (n > BigInt(this.b.length)) this.fail(`${what} of ${n} entries is longer than the data`);
    return Number(n);
  }

  // Chunks of an indefinite-length string, until the break byte.
  chunks(major) {
    const parts = [];
    for (;;) {
      const initial = this.byte();
      if (initial === 0xff) return parts;
      if (initial >> 5 !== major) this.fail('indefinite string with a chunk of another type');
      const n = this.length(initial & 31, 'string chunk');
      if (n === null) this.fail('nested indefinite string');
      parts.push(this.take(n));
    }
  }

  item() {
    const initial = this.byte();
    const major = initial >> 5;
    const info = initial & 31;
    switch (major) {
      case 0: {
        const v = this.argument(info);
        if (v === null) this.fail('indefinite unsigned integer');
        return v;
      }
      case 1: {
        const v = this.argument(info);
        if (v === null) this.fail('indefinite negative integer');
        return -1n - v;
      }
      case 2:
      case 3: {
        const n = this.length(info, 'string');
        const raw = n === null ? Buffer.concat(this.chunks(major)) : Buffer.from(this.take(n));
        return major === 2 ? { bytes: '0x' + raw.toString('hex') } : new TextDecoder('utf-8', { fatal: true }).decode(raw);
      }
      case 4: {
        const n = this.length(info, 'array');
        const out = [];
        if (n === null) {
          while (this.b[this.at] !== 0xff) out.push(this.item());
          this.at++;
        } else {
          for (let i = 0; i < n; i++) out.push(this.item());
        }
        return out;
      }
      case 5: {
        const n = this.length(info, 'map');
        const out = {};
        const entry = () => {
          const k = this.item();
          out[typeof k === 'string' ? k : JSON.stringify(plain(k))] = this.item();
        };
        if (n === null) {
          while (this.b[this.at] !== 0xff) entry();
          this.at++;
        } else {
          for (let i = 0; i < n; i++) entry();
        }
        return out;
      }
      case 6: {
        const tag = this.argument(info);
        const inner = this.item();
        if ((tag === 2n || tag === 3n) && inner && typeof inner.bytes === 'string') {
          const v = inner.bytes === '0x' ? 0n : BigInt(inner.bytes);
          return tag === 2n ? v : -1n - v;
        }
        return { tag: Number(tag), value: inner };
      }
      default:
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22 || info === 23) return null;
        return this.fail(`unsupported simple value or float (initial byte 0x${initial.toString(16)})`);
    }
  }
}

// BigInts become JSON numbers when safe, else decimal strings.
export function plain(v) {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

// The request parameters of a Chainlink request's data (0x-hex) as an
// object, in the JSON form of plain().  Keys must be text strings; a key
// given twice keeps its last value, as the node's cborparse does.
export function decodeRequestData(hex) {
  if (typeof hex !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(hex)) throw new Error('request data is not 0x-hex bytes');
  const r = new Reader(Buffer.from(hex.slice(2), 'hex'));
  const out = {};
  while (r.at < r.b.length) {
    const keyAt = r.at;
    const key = r.item();
    if (typeof key !== 'string') throw new Error(`CBOR at byte ${keyAt}: parameter name is not a text string`);
    if (r.at >= r.b.length) throw new Error(`CBOR: parameter ${key} has no value`);
    out[key] = plain(r.item());
  }
  return out;
}
