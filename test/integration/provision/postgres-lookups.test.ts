import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findPostgres, runPsql, type PostgresPrograms } from '../../../src/provision/postgres.js';
import { uniqueId } from '../../support/builders.js';
import { withDatabase } from '../../support/stack.js';

const dataDir = inject('postgresDataDir');
const DOCUMENTS = 3_000;
const READS = 40;

/**
 * FerretDB 1.24 over PostgreSQL reads a document by `_id` with a containment test its own index
 * cannot serve; provisioning adds one that can (src/provision/postgres.ts). Checked through the
 * MongoDB wire, as the product reads, against PostgreSQL's own statistics for the table.
 */
describe.skipIf(dataDir === '')('FerretDB over PostgreSQL', () => {
  const database = `kp_${uniqueId('lookups').replace(/-/g, '_')}`;
  let connection: mongoose.Connection;
  let programs: PostgresPrograms;

  const stats = () => {
    const result = runPsql(
      programs,
      dataDir,
      `SELECT t.seq_scan, coalesce(sum(i.idx_scan) FILTER (WHERE i.indexrelname LIKE '%\\_id\\_lookup'), 0),
              count(*) FILTER (WHERE i.indexrelname LIKE '%\\_id\\_lookup')
         FROM pg_stat_user_tables t JOIN pg_stat_user_indexes i ON i.relid = t.relid
        WHERE t.schemaname = '${database}' AND t.relname LIKE 'lookups\\_%'
        GROUP BY t.seq_scan`,
      ['-At', '-F', ' '],
    );
    expect(result.status, result.stderr).toBe(0);
    const [seqScans, indexScans, indexes] = result.stdout.trim().split(' ').map(Number);
    return { seqScans: seqScans ?? NaN, indexScans: indexScans ?? NaN, indexes: indexes ?? NaN };
  };

  beforeAll(async () => {
    programs = findPostgres() as PostgresPrograms;
    connection = await mongoose.createConnection(withDatabase(inject('mongoUri'), database)).asPromise();
    const documents = Array.from({ length: DOCUMENTS }, (_, i) => ({
      _id: `doc_${i}`,
      body: 'x'.repeat(2_000),
      n: i,
    }));
    await connection.collection<{ _id: string; body: string; n: number }>('lookups').insertMany(documents);
  });

  afterAll(async () => {
    await connection?.dropDatabase();
    await connection?.close();
  });

  it('reads a document by _id from an index, never by scanning the table', async () => {
    expect(stats().indexes).toBe(1);
    const before = stats();
    for (let i = 0; i < READS; i += 1) {
      const found = await connection
        .collection<{ _id: string; n: number }>('lookups')
        .findOne({ _id: `doc_${i * 70}` });
      expect(found?.n).toBe(i * 70);
    }
    // Statistics reach the views once the server's backends flush them (within seconds).
    await expect
      .poll(() => stats().indexScans - before.indexScans, { timeout: 30_000, interval: 1_000 })
      .toBeGreaterThanOrEqual(READS);
    expect(stats().seqScans - before.seqScans).toBeLessThan(READS / 4);
  });
});
