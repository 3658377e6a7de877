import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/** The lint rules that keep the layers apart, checked on code that breaks them. */
const eslint = new ESLint({
  // Only the rule under test, so the example files need no place in the TypeScript project.
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
});

async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layering', () => {
  it('refuses value imports of activities in workflows, and allows type imports', async () => {
    expect(
      await restrictedImports(
        'workflows/example.ts',
        "import { createActivities } from '../activities/index.js';\nexport const x = createActivities;\n",
      ),
    ).toEqual([expect.stringMatching(/as types only/)]);
    expect(
      await restrictedImports(
        'workflows/example.ts',
        "import type { PaymentActivities } from '../activities/index.js';\nexport type X = PaymentActivities;\n",
      ),
    ).toEqual([]);
  });

  it.each([
    ['src/db/example.ts', "import { paymentWorkflow } from '../../workflows/payment.js';"],
    ['src/channels/example.ts', "import { ApiError } from '../api/errors.js';"],
    ['src/crypto/example.ts', "import { PlatformClient } from '../client/index.js';"],
    ['src/db/example.ts', "import { Client } from '@temporalio/client';"],
    ['domain/example.ts', "import { getPaymentQuery } from '../workflows/contracts.js';"],
    ['domain/example.ts', "import { createHash } from 'node:crypto';"],
  ])('keeps %s below the API, the client and the workflows: %s', async (filePath, line) => {
    expect(await restrictedImports(filePath, `${line}\nexport const used = 1;\n`)).not.toEqual([]);
  });

  it('lets the lower layers use one another', async () => {
    expect(
      await restrictedImports(
        'src/db/example.ts',
        "import { isCurrency } from '../../domain/money.js';\nexport const x = isCurrency;\n",
      ),
    ).toEqual([]);
  });
});
