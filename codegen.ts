import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the client examples, from the committed schema (no server needed, works
 * offline). `npm run codegen` after changing schema/schema.graphql or client-examples/*.graphql;
 * test/integration/codegen-fresh.test.ts fails when client-examples/gql/ is stale.
 */
export const CODEGEN_OUTPUT = 'client-examples/gql/';

const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['client-examples/**/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    [CODEGEN_OUTPUT]: {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { DateTime: 'string', JSON: 'unknown' },
        enumsAsTypes: true,
        useTypeImports: true,
        strictScalars: true,
      },
    },
  },
};

export default config;
