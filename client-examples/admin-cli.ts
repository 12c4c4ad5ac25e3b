/**
 * A small operator CLI over Recoup's GraphQL API, built on the typed documents in ./gql; the
 * commands themselves are in admin-commands.ts.
 *
 *   npm run admin -- <command> [options]
 *   RECOUP_URL=http://127.0.0.1:4000 RECOUP_TOKEN=<jwt> node dist/client-examples/admin-cli.js <command>
 *
 * Credentials: RECOUP_TOKEN (a bearer JWT with role VIEWER, OPERATOR or ADMIN) or RECOUP_API_KEY
 * (a key from the server's API_KEYS, sent as x-api-key; it wins when both are set). Reading needs
 * VIEWER; recover, capture, sync, cleanup, reconcile and resolve-alert need OPERATOR.
 *
 *   payments [--status S] [--first N] [--after cursor]
 *   alerts [--open] [--first N] [--after cursor]
 *   resolve-alert <alertId> [--note text]
 *   failed-deliveries [--status FAILED|AWAITING_CUSTOMER|PENDING|IN_PROGRESS] [--search text] [--first N] [--after cursor]
 *   pending [--stale] [--first N] [--after cursor]
 *   out-of-sync [--first N] [--after cursor]
 *   recover <paymentId> [<paymentId> ...]      (up to 100; recoverPayment for one, recoverPayments for several)
 *   capture <paymentId>
 *   sync <paymentId>
 *   cleanup
 *   reconcile [--window-days N] [--wait]
 *
 * Every command takes --json (one JSON document on stdout). Listings print `next page: --after
 * <cursor>` when there is more (nextCursor in JSON).
 *
 * Exit codes: 0 done; 1 the server refused (GraphQL error, printed as `error: CODE: message`) or
 * part of the work failed (a payment not recovered, cleanup errors, a FAILED or PARTIAL
 * reconciliation); 2 the server could not be reached; 64 bad usage.
 */
import { parseArgs } from 'node:util';
import { COMMANDS, EXIT, UsageError, type Command, type Flags, type Line } from './admin-commands';
import { GraphqlRequestError, NetworkError, type RecoupEndpoint } from './client';

export type { Line } from './admin-commands';

const USAGE = [
  'usage: admin <command> [options] [--json]',
  ...Object.values(COMMANDS).map((command) => `  ${command.synopsis}`),
  'env: RECOUP_URL (default http://127.0.0.1:4000); RECOUP_TOKEN (JWT) or RECOUP_API_KEY',
  'exit: 0 ok, 1 refused or partly failed, 2 server unreachable, 64 bad usage',
];

function parse(argv: string[]): { command: string | undefined; args: string[]; flags: Flags } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        status: { type: 'string' },
        search: { type: 'string' },
        first: { type: 'string' },
        after: { type: 'string' },
        open: { type: 'boolean' },
        stale: { type: 'boolean' },
        note: { type: 'string' },
        'window-days': { type: 'string' },
        wait: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const [command, ...args] = positionals;
    return { command, args, flags: values };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Refuses flags and arguments the command does not take, rather than ignoring them. */
function checkUsage(name: string, command: Command, args: string[], flags: Flags): void {
  const stray = Object.keys(flags).find((flag) => flag !== 'json' && flag !== 'help' && !command.flags.includes(flag as keyof Flags));
  if (stray) throw new UsageError(`${name} does not take --${stray}`);
  const { name: operand, min, max } = command.operands ?? { name: 'argument', min: 0, max: 0 };
  if (args.length >= min && args.length <= max) return;
  if (max === 0) throw new UsageError(`${name} takes no arguments (got "${args.join(' ')}")`);
  throw new UsageError(min === max ? `${name} takes exactly one ${operand}` : `${name} takes ${min} to ${max} ${operand}s (got ${args.length})`);
}

/** Runs one command; answers the exit code. `err` receives error lines (stderr in the CLI). */
export async function runAdmin(argv: string[], endpoint: RecoupEndpoint, out: Line, err: Line = out): Promise<number> {
  try {
    const { command: name, args, flags } = parse(argv);
    if (flags.help || !name) {
      USAGE.forEach((line) => (flags.help ? out : err)(line));
      return flags.help ? EXIT.ok : EXIT.usage;
    }
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command) throw new UsageError(`unknown command "${name}"`);
    checkUsage(name, command, args, flags);
    return await command.run({ endpoint, args, flags, out, err });
  } catch (error) {
    if (error instanceof UsageError) {
      err(`error: ${error.message}`);
      USAGE.forEach((line) => err(line));
      return EXIT.usage;
    }
    if (error instanceof GraphqlRequestError) {
      err(`error: ${error.code}: ${error.message}`);
      return EXIT.refused;
    }
    if (error instanceof NetworkError) {
      err(`error: NETWORK: ${error.message}`);
      return EXIT.network;
    }
    throw error;
  }
}

/** Where and as whom, from RECOUP_URL and RECOUP_API_KEY or RECOUP_TOKEN; null when neither credential is set. */
export function endpointFromEnv(env: Record<string, string | undefined>): RecoupEndpoint | null {
  const url = env.RECOUP_URL || 'http://127.0.0.1:4000';
  if (env.RECOUP_API_KEY) return { url, apiKey: env.RECOUP_API_KEY };
  if (env.RECOUP_TOKEN) return { url, token: env.RECOUP_TOKEN };
  return null;
}

if (require.main === module) {
  const endpoint = endpointFromEnv(process.env);
  const help = process.argv.includes('--help') || process.argv.includes('-h');
  if (!endpoint && !help) {
    console.error('error: set RECOUP_TOKEN (a bearer JWT with role VIEWER, OPERATOR or ADMIN) or RECOUP_API_KEY (a key from the server\'s API_KEYS)');
    process.exitCode = EXIT.usage;
  } else {
    runAdmin(process.argv.slice(2), endpoint ?? { url: '' }, (line) => console.log(line), (line) => console.error(line)).then(
      (code) => (process.exitCode = code),
      (error: unknown) => {
        console.error(error);
        process.exitCode = EXIT.refused;
      },
    );
  }
}
