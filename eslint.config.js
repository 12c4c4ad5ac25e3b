// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const importX = require('eslint-plugin-import-x');

/**
 * The layers of src/, highest first; a layer imports only the ones below it. app/ (with main.ts
 * and mikro-orm.config.ts) is the composition root and may import anything.
 */
const FEATURES = ['payments', 'delivery', 'access', 'retries', 'reconciliation', 'alerts', 'catalog', 'customers', 'audit', 'analytics', 'verification'].map((f) => `./src/${f}`);
const APP = ['./src/app', './src/main.ts', './src/mikro-orm.config.ts'];
const layer = (target, from, why) => ({ target, from, message: `${why} (see ARCHITECTURE.md, "Layout")` });
const LAYERS = [
  layer('./src/platform', [...APP, ...FEATURES, './src/inbox', './src/integrations', './src/sandbox'], 'src/platform is the bottom layer: it knows no feature, vendor or the app'),
  layer('./src/integrations', [...APP, ...FEATURES, './src/inbox', './src/sandbox'], 'src/integrations (the vendors) depend on src/platform only'),
  layer('./src/inbox', [...APP, ...FEATURES, './src/sandbox'], 'src/inbox stores events for the features to apply; it knows none of them'),
  layer('./src/sandbox', [...APP, ...FEATURES, './src/inbox'], 'src/sandbox (the fake Stripe and Telegram) stands apart from the app it fakes for'),
  ...FEATURES.map((feature) => layer(feature, [...APP, './src/sandbox'], 'a feature never reaches up into src/app, nor into the sandbox fakes')),
  // A feature's internals: its subfolders (payments/stripe-apply, reconciliation/checks) and its
  // entry points (resolvers, jobs, routes, GraphQL inputs and presenters) are wired by src/app only.
  ...FEATURES.map((feature) => ({
    target: `${feature}/**`,
    from: FEATURES.filter((other) => other !== feature).flatMap((other) => [`${other}/*/**`, `${other}/*.{resolver,job,jobs,route,input,presenter}.ts`]),
    message: "another feature's internals (a subfolder, a resolver, job, route, input or presenter): import what it exports at its top level, or move the shared piece down (see ARCHITECTURE.md, \"Layout\")",
  })),
];

/**
 * A resolver is built with the services it uses (constructor parameters, wired in
 * src/app/resolvers.ts); it never reaches the whole container, through the GraphQL context or an import.
 */
const RESOLVER_SERVICES_WHY = 'a resolver takes the services it uses in its constructor, wired in src/app/resolvers.ts; never the whole Services (see ARCHITECTURE.md, "GraphQL conventions")';

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'client-examples/gql/**', 'client-examples/dashboard/dist/**', '.recoup/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', __dirname: 'readonly', require: 'readonly', module: 'writable', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly', fetch: 'readonly', TextEncoder: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unsafe-function-type': 'off',
      'no-console': ['error', { allow: ['log', 'error', 'warn'] }],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.js', '.json'] })] },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      'import-x/no-restricted-paths': ['error', { zones: LAYERS }],
    },
  },
  {
    files: ['src/**/*.resolver.ts'],
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: [...LAYERS, { target: './src/**/*.resolver.ts', from: './src/app/services.ts', message: RESOLVER_SERVICES_WHY }] }],
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[property.name='services']", message: `No ctx.services: ${RESOLVER_SERVICES_WHY}` },
        { selector: "ObjectPattern > Property[key.name='services']", message: `No { services } = ctx: ${RESOLVER_SERVICES_WHY}` },
      ],
    },
  },
);
