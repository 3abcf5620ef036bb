import { TenantRootKeys } from './tenant-keys.js';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { AwsKmsWrapper, DecryptionError, FileKeyWrapper, DataKeyRing, VaultTransitWrapper } from './envelope.js';
import { Ids, systemClock, systemRandom } from './index.js';

/** Flips one bit of the sealed part of a DataKeyRing ciphertext. */
function tamper(ciphertext: string, at = 20): string {
  const i = ciphertext.lastIndexOf(':') + 1;
  const sealed = Buffer.from(ciphertext.slice(i), 'base64url');
  sealed[Math.min(at, sealed.length - 1)] ^= 0x01;
  return ciphertext.slice(0, i) + sealed.toString('base64url');
}

describe('FileKeyWrapper', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'loam-keys-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates master.key with mode 0600 on first use, and reuses it', async () => {
    const a = FileKeyWrapper.inDataDir(dir, systemRandom);
    const file = join(dir, 'master.key');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const wrapped = await a.wrap(Buffer.alloc(32, 7), 'ctx');
    const b = FileKeyWrapper.inDataDir(dir, systemRandom);
    expect(await b.unwrap(wrapped, 'ctx')).toEqual(Buffer.alloc(32, 7));
  });

  it('rotation adds a version; keys wrapped before stay readable', async () => {
    const w = FileKeyWrapper.inDataDir(dir, systemRandom);
    const old = await w.wrap(Buffer.alloc(32, 1), 'ctx');
    await w.rotate();
    const fresh = await w.wrap(Buffer.alloc(32, 1), 'ctx');
    expect(old.startsWith('file:v1:')).toBe(true);
    expect(fresh.startsWith('file:v2:')).toBe(true);
    expect(await w.unwrap(old, 'ctx')).toEqual(Buffer.alloc(32, 1));
    expect(statSync(join(dir, 'master.key')).mode & 0o777).toBe(0o600);
    await expect(w.unwrap(fresh, 'other context')).rejects.toBeInstanceOf(DecryptionError);
  });
});

describeEachDialect('DataKeyRing', (dialect) => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ dialect, http: false });
  });
  afterAll(() => t.close());

  it('round-trips, binds associated data, and detects tampering', async () => {
    const keys = t.loam.services.keys;
    const ct = await keys.encrypt('default', 'dataset:ds_1', 'alice@example.com', 'ds_1|rec_1|email');
    expect(ct).toMatch(/^enc:v1:dk_/);
    expect(ct).not.toContain('alice');
    expect(await keys.decryptString('default', ct, 'ds_1|rec_1|email')).toBe('alice@example.com');
    // The same value moved to another record or field does not decrypt.
    await expect(keys.decrypt('default', ct, 'ds_1|rec_2|email')).rejects.toBeInstanceOf(DecryptionError);
    // A flipped bit anywhere (iv, tag or body) is an error, never garbage.
    for (const at of [0, 14, 30, 40])
      await expect(keys.decrypt('default', tamper(ct, at), 'ds_1|rec_1|email')).rejects.toBeInstanceOf(DecryptionError);
    // Two encryptions of one value differ (random IV).
    expect(await keys.encrypt('default', 'dataset:ds_1', 'alice@example.com', 'ds_1|rec_1|email')).not.toBe(ct);
  });

  it('a tenant cannot decrypt with another tenant’s data key', async () => {
    const keys = t.loam.services.keys;
    const ct = await keys.encrypt('default', 'dataset:ds_x', 'secret', 'aad');
    const err = await keys.decrypt('tenant_b', ct, 'aad').catch((e) => e);
    expect(err).toBeInstanceOf(DecryptionError);
    expect(String(err.message)).not.toMatch(/[A-Za-z0-9+/]{40,}/); // no key material in errors
  });

  it('master key rotation re-wraps data keys without touching ciphertexts', async () => {
    const keys = t.loam.services.keys;
    const ct = await keys.encrypt('default', 'dataset:ds_rot', 'value', 'aad');
    const before = await keys.wrappedKeyOf('default', 'dataset:ds_rot');
    const result = await keys.rotateMasterKey();
    expect(result.rewrapped).toBeGreaterThanOrEqual(1);
    const after = await keys.wrappedKeyOf('default', 'dataset:ds_rot');
    expect(after).not.toBe(before);
    expect(after?.startsWith('file:v2:')).toBe(true);
    // A fresh key ring (no cached keys) unwraps the re-wrapped key and reads the old ciphertext.
    const wrapper = FileKeyWrapper.inDataDir(t.dataDir, systemRandom);
    const fresh = new DataKeyRing(
      t.loam.platform.database,
      wrapper,
      systemClock,
      new Ids(systemClock, systemRandom),
      systemRandom,
      new TenantRootKeys(t.loam.platform.blob, wrapper, systemRandom, t.loam.platform.database),
    );
    expect(await fresh.decryptString('default', ct, 'aad')).toBe('value');
  });
});

/**
 * Test double of HashiCorp Vault's transit engine: the same HTTP paths, token header, JSON shapes,
 * `vault:vN:` ciphertexts, key versions, and AES-GCM with associated data.
 */
function startVaultTransitDouble(token: string): Promise<{ server: Server; url: string; versions: () => number }> {
  const keys: Buffer[] = [randomBytes(32)];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (req.headers['x-vault-token'] !== token) return send(403, { errors: ['permission denied'] });
      const input = body ? JSON.parse(body) : {};
      const aad = Buffer.from(input.associated_data ?? '', 'base64');
      const m = /^\/v1\/transit\/(encrypt|decrypt|keys)\/([^/]+)(\/rotate)?$/.exec(req.url ?? '');
      if (m?.[2] !== 'loam') return send(404, { errors: [] });
      if (m[1] === 'keys' && m[3]) {
        keys.push(randomBytes(32));
        return send(204, {});
      }
      if (m[1] === 'encrypt') {
        const iv = randomBytes(12);
        const c = createCipheriv('aes-256-gcm', keys[keys.length - 1], iv);
        c.setAAD(aad);
        const ct = Buffer.concat([iv, c.update(Buffer.from(input.plaintext, 'base64')), c.final(), c.getAuthTag()]);
        return send(200, { data: { ciphertext: `vault:v${keys.length}:${ct.toString('base64')}`, key_version: keys.length } });
      }
      const parts = /^vault:v(\d+):(.+)$/.exec(input.ciphertext ?? '');
      const key = parts ? keys[Number(parts[1]) - 1] : undefined;
      if (!parts || !key) return send(400, { errors: ['invalid ciphertext'] });
      try {
        const raw = Buffer.from(parts[2], 'base64');
        const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        d.setAAD(aad);
        d.setAuthTag(raw.subarray(raw.length - 16));
        const pt = Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
        return send(200, { data: { plaintext: pt.toString('base64') } });
      } catch {
        return send(400, { errors: ['cipher: message authentication failed'] });
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, versions: () => keys.length }),
    ),
  );
}

describe('VaultTransitWrapper (against a Vault transit test double)', () => {
  let vault: Awaited<ReturnType<typeof startVaultTransitDouble>>;
  beforeAll(async () => {
    vault = await startVaultTransitDouble('s.test-token');
  });
  afterAll(() => new Promise<void>((r) => vault.server.close(() => r())));

  it('wraps, unwraps with the same context only, and rotates', async () => {
    const w = new VaultTransitWrapper({ address: vault.url, token: 's.test-token', keyName: 'loam' });
    const dk = randomBytes(32);
    const wrapped = await w.wrap(dk, 'tenant|scope|dk_1');
    expect(wrapped.startsWith('vault:v1:')).toBe(true);
    expect(await w.unwrap(wrapped, 'tenant|scope|dk_1')).toEqual(dk);
    await expect(w.unwrap(wrapped, 'tenant|scope|dk_2')).rejects.toBeInstanceOf(DecryptionError);
    await w.rotate();
    expect(vault.versions()).toBe(2);
    expect((await w.wrap(dk, 'c')).startsWith('vault:v2:')).toBe(true);
    expect(await w.unwrap(wrapped, 'tenant|scope|dk_1')).toEqual(dk);
  });

  it('reports a refused token without echoing it', async () => {
    const w = new VaultTransitWrapper({ address: vault.url, token: 's.wrong-token', keyName: 'loam' });
    const err = await w.wrap(randomBytes(32), 'c').catch((e) => e);
    expect(err.message).toMatch(/HTTP 403/);
    expect(err.message).not.toContain('s.wrong-token');
  });
});

/** Test double of AWS KMS's JSON protocol (X-Amz-Target: TrentService.*) for Encrypt and Decrypt. */
function startKmsDouble(): Promise<{ server: Server; url: string }> {
  const key = randomBytes(32);
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const input = JSON.parse(body || '{}');
      const target = String(req.headers['x-amz-target'] ?? '');
      const aad = Buffer.from(JSON.stringify(input.EncryptionContext ?? {}));
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(json));
      };
      if (target === 'TrentService.Encrypt') {
        const iv = randomBytes(12);
        const c = createCipheriv('aes-256-gcm', key, iv);
        c.setAAD(aad);
        const ct = Buffer.concat([iv, c.update(Buffer.from(input.Plaintext, 'base64')), c.final(), c.getAuthTag()]);
        return send(200, { CiphertextBlob: ct.toString('base64'), KeyId: input.KeyId });
      }
      if (target === 'TrentService.Decrypt') {
        try {
          const raw = Buffer.from(input.CiphertextBlob, 'base64');
          const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
          d.setAAD(aad);
          d.setAuthTag(raw.subarray(raw.length - 16));
          const pt = Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]);
          return send(200, { Plaintext: pt.toString('base64'), KeyId: input.KeyId });
        } catch {
          return send(400, { __type: 'InvalidCiphertextException', message: 'invalid' });
        }
      }
      return send(400, { __type: 'UnsupportedOperationException', message: target });
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })),
  );
}

describe('AwsKmsWrapper (against an AWS KMS JSON-protocol test double)', () => {
  let kms: Awaited<ReturnType<typeof startKmsDouble>>;
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    kms = await startKmsDouble();
  });
  afterAll(async () => {
    process.env.AWS_ACCESS_KEY_ID = saved.id;
    process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    await new Promise<void>((r) => kms.server.close(() => r()));
  });

  it('wraps through Encrypt and unwraps through Decrypt with the encryption context', async () => {
    const w = new AwsKmsWrapper({ keyId: 'alias/loam', region: 'us-east-1', endpoint: kms.url });
    const dk = randomBytes(32);
    const wrapped = await w.wrap(dk, 'tenant|scope|dk_1');
    expect(wrapped.startsWith('aws-kms:')).toBe(true);
    expect(await w.unwrap(wrapped, 'tenant|scope|dk_1')).toEqual(dk);
    await expect(w.unwrap(wrapped, 'tenant|scope|dk_2')).rejects.toBeInstanceOf(DecryptionError);
  });
});

describe('key file contents', () => {
  it('hold base64 keys only, one version per line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'loam-keys-'));
    FileKeyWrapper.inDataDir(dir, systemRandom);
    expect(readFileSync(join(dir, 'master.key'), 'utf8')).toMatch(/^v1:[A-Za-z0-9+/=]{44}\n$/);
    rmSync(dir, { recursive: true, force: true });
  });
});
