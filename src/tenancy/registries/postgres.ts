import pg from 'pg';
import { InvalidOptionsError, parseOptions } from '../../errors/index.ts';
import { TenantExistsError, TenantNotFoundError, TenantRegistryError } from '../errors.ts';
import {
  type ApiKeyRecord,
  type NewTenant,
  newTenantSchema,
  type TenantPatch,
  type TenantQuotas,
  type TenantRecord,
  type TenantRegistry,
  tenantPatchSchema,
} from '../registry.ts';
import { migrate } from './postgres-migrations.ts';

/** Options of `PostgresTenantRegistry.open`. */
export interface PostgresTenantRegistryOptions {
  /** A `postgres://` URL. Default: the standard `PG*` environment variables. */
  connectionString?: string;
  /** Schema holding the tables; created if missing. Default `public`. */
  schema?: string;
  /** Connections in the pool. Default 4. */
  maxConnections?: number;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

interface TenantRow {
  id: string;
  name: string;
  quotas: TenantQuotas;
  disabled: boolean;
  created_at: string;
}
interface KeyRow {
  id: string;
  tenant_id: string;
  name: string;
  hash: string;
  created_at: string;
  revoked_at: string | null;
}

const toTenant = (r: TenantRow): TenantRecord => ({
  id: r.id,
  name: r.name,
  quotas: r.quotas,
  disabled: r.disabled,
  createdAt: Number(r.created_at),
});
const toKey = (r: KeyRow): ApiKeyRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  hash: r.hash,
  createdAt: Number(r.created_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

/** Tenants and hashed keys in PostgreSQL, shared by every node of a cluster. */
export class PostgresTenantRegistry implements TenantRegistry {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  readonly #t: string;
  readonly #k: string;
  #closed: Promise<void> | undefined;

  private constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#t = `${schema}.agentfleet_tenants`;
    this.#k = `${schema}.agentfleet_api_keys`;
  }

  /**
   * Connects and applies the registry's migrations (idempotent, safe to run from many nodes).
   * @throws TenantRegistryError when the server cannot be reached or a migration fails.
   */
  static async open(options: PostgresTenantRegistryOptions = {}): Promise<PostgresTenantRegistry> {
    const schema = options.schema ?? 'public';
    if (!IDENTIFIER.test(schema)) {
      throw new InvalidOptionsError(
        `schema must be a lower-case SQL identifier; got ${JSON.stringify(schema)}.`,
      );
    }
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 4,
      connectionTimeoutMillis: 5_000,
    });
    pool.on('error', () => {}); // an idle client lost its connection; the pool replaces it
    try {
      const client = await pool.connect();
      try {
        await migrate(client, schema);
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => {});
      throw new TenantRegistryError(
        `Cannot open the PostgreSQL tenant registry: ${(error as Error).message}`,
        error,
      );
    }
    return new PostgresTenantRegistry(pool, schema);
  }

  async createTenant(input: NewTenant): Promise<TenantRecord> {
    const p = parseOptions('tenant', newTenantSchema, input);
    const result = await this.#query<TenantRow>(
      `INSERT INTO ${this.#t} (id, name, quotas, disabled, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO NOTHING RETURNING *`,
      [p.id, p.name ?? p.id, JSON.stringify(p.quotas), p.disabled, Date.now()],
    );
    if (result.rows.length === 0) throw new TenantExistsError(p.id);
    return toTenant(result.rows[0]!);
  }

  async getTenant(id: string): Promise<TenantRecord | undefined> {
    const result = await this.#query<TenantRow>(`SELECT * FROM ${this.#t} WHERE id = $1`, [id]);
    return result.rows.length === 0 ? undefined : toTenant(result.rows[0]!);
  }

  async listTenants(options: { limit?: number; offset?: number } = {}): Promise<TenantRecord[]> {
    const result = await this.#query<TenantRow>(
      `SELECT * FROM ${this.#t} ORDER BY id COLLATE "C" LIMIT $1 OFFSET $2`,
      [options.limit ?? 1000, options.offset ?? 0],
    );
    return result.rows.map(toTenant);
  }

  async updateTenant(id: string, patch: TenantPatch): Promise<TenantRecord> {
    const p = parseOptions('tenant patch', tenantPatchSchema, patch);
    const result = await this.#query<TenantRow>(
      `UPDATE ${this.#t} SET name = COALESCE($2, name), quotas = COALESCE($3::jsonb, quotas),
       disabled = COALESCE($4, disabled) WHERE id = $1 RETURNING *`,
      [id, p.name ?? null, p.quotas === undefined ? null : JSON.stringify(p.quotas), p.disabled ?? null],
    );
    if (result.rows.length === 0) throw new TenantNotFoundError(id);
    return toTenant(result.rows[0]!);
  }

  async deleteTenant(id: string): Promise<boolean> {
    const result = await this.#query(`DELETE FROM ${this.#t} WHERE id = $1`, [id]);
    return (result.rowCount ?? 0) > 0;
  }

  async addKey(record: ApiKeyRecord): Promise<void> {
    try {
      await this.#query(
        `INSERT INTO ${this.#k} (id, tenant_id, name, hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)`,
        [record.id, record.tenantId, record.name, record.hash, record.createdAt, record.revokedAt],
      );
    } catch (error) {
      if (pgCode(error) === '23503') throw new TenantNotFoundError(record.tenantId);
      throw error;
    }
  }

  async findKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    const result = await this.#query<KeyRow>(`SELECT * FROM ${this.#k} WHERE id = $1`, [keyId]);
    return result.rows.length === 0 ? undefined : toKey(result.rows[0]!);
  }

  async listKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    const result = await this.#query<KeyRow>(
      `SELECT * FROM ${this.#k} WHERE tenant_id = $1 ORDER BY created_at, id`,
      [tenantId],
    );
    return result.rows.map(toKey);
  }

  async revokeKey(tenantId: string, keyId: string): Promise<boolean> {
    const result = await this.#query(
      `UPDATE ${this.#k} SET revoked_at = COALESCE(revoked_at, $3) WHERE id = $1 AND tenant_id = $2`,
      [keyId, tenantId, Date.now()],
    );
    return (result.rowCount ?? 0) > 0;
  }

  close(): Promise<void> {
    this.#closed ??= this.#pool.end();
    return this.#closed;
  }

  async #query<R extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(sql, values);
    } catch (error) {
      throw new TenantRegistryError(`Tenant registry query failed: ${(error as Error).message}`, error);
    }
  }
}

function pgCode(error: unknown): string | undefined {
  return (error as { cause?: { code?: string } }).cause?.code;
}

/** Opens the PostgreSQL tenant registry. See `PostgresTenantRegistryOptions`. */
export function openPostgresTenantRegistry(
  options?: PostgresTenantRegistryOptions,
): Promise<PostgresTenantRegistry> {
  return PostgresTenantRegistry.open(options);
}
