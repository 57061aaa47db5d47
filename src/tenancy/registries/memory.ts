import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { parseOptions } from '../../errors/index.ts';
import { TenantExistsError, TenantNotFoundError, TenantRegistryError } from '../errors.ts';
import {
  type ApiKeyRecord,
  type NewTenant,
  newTenantSchema,
  type TenantPatch,
  type TenantRecord,
  type TenantRegistry,
  tenantPatchSchema,
  tenantQuotasSchema,
} from '../registry.ts';

const fileSchema = z.strictObject({
  version: z.literal(1),
  tenants: z.array(
    z.strictObject({
      id: z.string(),
      name: z.string(),
      quotas: tenantQuotasSchema,
      disabled: z.boolean(),
      createdAt: z.number(),
    }),
  ),
  keys: z.array(
    z.strictObject({
      id: z.string(),
      tenantId: z.string(),
      name: z.string(),
      hash: z.string().regex(/^[0-9a-f]{64}$/),
      createdAt: z.number(),
      revokedAt: z.number().nullable(),
    }),
  ),
});

/**
 * Tenants and hashed keys in memory; with `file`, loaded from and saved to a JSON file on
 * every change (written to a temporary file, then renamed, so a crash never leaves half a file).
 */
export class MemoryTenantRegistry implements TenantRegistry {
  readonly kind: string;
  readonly #tenants = new Map<string, TenantRecord>();
  readonly #keys = new Map<string, ApiKeyRecord>();
  readonly #file: string | undefined;
  #saving: Promise<void> = Promise.resolve();

  /** Use `openTenantRegistry` / `MemoryTenantRegistry.open(file)` to load a file. */
  constructor(options: { file?: string } = {}) {
    this.#file = options.file;
    this.kind = options.file === undefined ? 'memory' : 'file';
  }

  /**
   * A registry saved to `file`, loaded from it when it exists.
   * @throws TenantRegistryError when the file is not a valid registry.
   */
  static async open(file: string): Promise<MemoryTenantRegistry> {
    const registry = new MemoryTenantRegistry({ file });
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new TenantRegistryError(`Cannot read tenant registry ${file}.`, error);
    }
    if (text !== undefined) {
      let data: z.output<typeof fileSchema>;
      try {
        data = fileSchema.parse(JSON.parse(text));
      } catch (error) {
        throw new TenantRegistryError(
          `Tenant registry ${file} is not valid: ${(error as Error).message}`,
          error,
        );
      }
      for (const t of data.tenants) registry.#tenants.set(t.id, t);
      for (const k of data.keys) registry.#keys.set(k.id, k);
    }
    return registry;
  }

  async createTenant(input: NewTenant): Promise<TenantRecord> {
    const parsed = parseOptions('tenant', newTenantSchema, input);
    if (this.#tenants.has(parsed.id)) throw new TenantExistsError(parsed.id);
    const record: TenantRecord = {
      id: parsed.id,
      name: parsed.name ?? parsed.id,
      quotas: parsed.quotas,
      disabled: parsed.disabled,
      createdAt: Date.now(),
    };
    this.#tenants.set(record.id, record);
    await this.#save();
    return { ...record };
  }

  async getTenant(id: string): Promise<TenantRecord | undefined> {
    const t = this.#tenants.get(id);
    return t === undefined ? undefined : { ...t };
  }

  async listTenants(options: { limit?: number; offset?: number } = {}): Promise<TenantRecord[]> {
    const all = [...this.#tenants.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const offset = options.offset ?? 0;
    return all.slice(offset, offset + (options.limit ?? 1000)).map((t) => ({ ...t }));
  }

  async updateTenant(id: string, patch: TenantPatch): Promise<TenantRecord> {
    const parsed = parseOptions('tenant patch', tenantPatchSchema, patch);
    const t = this.#tenants.get(id);
    if (t === undefined) throw new TenantNotFoundError(id);
    const next: TenantRecord = {
      ...t,
      name: parsed.name ?? t.name,
      quotas: parsed.quotas ?? t.quotas,
      disabled: parsed.disabled ?? t.disabled,
    };
    this.#tenants.set(id, next);
    await this.#save();
    return { ...next };
  }

  async deleteTenant(id: string): Promise<boolean> {
    if (!this.#tenants.delete(id)) return false;
    for (const [keyId, k] of this.#keys) if (k.tenantId === id) this.#keys.delete(keyId);
    await this.#save();
    return true;
  }

  async addKey(record: ApiKeyRecord): Promise<void> {
    if (!this.#tenants.has(record.tenantId)) throw new TenantNotFoundError(record.tenantId);
    this.#keys.set(record.id, { ...record });
    await this.#save();
  }

  async findKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    const k = this.#keys.get(keyId);
    return k === undefined ? undefined : { ...k };
  }

  async listKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    const out: ApiKeyRecord[] = [];
    for (const k of this.#keys.values()) if (k.tenantId === tenantId) out.push({ ...k });
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  async revokeKey(tenantId: string, keyId: string): Promise<boolean> {
    const k = this.#keys.get(keyId);
    if (k === undefined || k.tenantId !== tenantId) return false;
    if (k.revokedAt === null) {
      k.revokedAt = Date.now();
      await this.#save();
    }
    return true;
  }

  async close(): Promise<void> {
    await this.#saving;
  }

  /** Saves are chained, so the file always ends with the latest state. */
  #save(): Promise<void> {
    const file = this.#file;
    if (file === undefined) return Promise.resolve();
    const next = this.#saving.then(async () => {
      const data = { version: 1, tenants: [...this.#tenants.values()], keys: [...this.#keys.values()] };
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
      await rename(temporary, file);
    });
    this.#saving = next.catch(() => {});
    return next.catch((error: unknown) => {
      throw new TenantRegistryError(`Cannot save tenant registry ${file}.`, error);
    });
  }
}
