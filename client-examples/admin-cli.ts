/**
 * A small operator CLI over Recoup's GraphQL API, built on the typed documents in ./gql.
 *
 *   RECOUP_URL=http://127.0.0.1:4000 RECOUP_TOKEN=<jwt> node dist/client-examples/admin-cli.js <command>
 *
 *   payments [--status S] [--first N] [--json]
 *   alerts [--open] [--first N] [--json]
 *   resolve-alert <id> [--note text] [--json]
 *
 * Exit codes: 0 done, 1 the server refused (GraphQL error, printed as `error: CODE: message`),
 * 2 the server could not be reached, 64 bad usage.
 */
import { parseArgs } from 'node:util';
import { GraphqlRequestError, NetworkError, request, type RecoupEndpoint } from './client';
import { AdminAlertsDocument, AdminPaymentsDocument, ResolveAlertDocument, type AlertFieldsFragment, type PaymentStatus } from './gql/graphql';

export type Line = (line: string) => void;

const USAGE = [
  'usage: admin <command> [options]',
  '  payments [--status S] [--first N] [--json]',
  '  alerts [--open] [--first N] [--json]',
  '  resolve-alert <id> [--note text] [--json]',
];
const EXIT = { ok: 0, refused: 1, network: 2, usage: 64 } as const;

class UsageError extends Error {}

type Flags = { status?: string; first?: string; open?: boolean; note?: string; json?: boolean; help?: boolean };

function parse(argv: string[]): { command: string | undefined; args: string[]; flags: Flags } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        status: { type: 'string' },
        first: { type: 'string' },
        open: { type: 'boolean' },
        note: { type: 'string' },
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

function pageSize(raw: string | undefined): number {
  if (raw === undefined) return 20;
  const first = Number(raw);
  if (!Number.isInteger(first) || first < 1 || first > 100) throw new UsageError(`--first must be an integer from 1 to 100 (got "${raw}")`);
  return first;
}

function money(amountMinor: number, currency: string): string {
  try {
    const format = new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() });
    return format.format(amountMinor / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
  } catch {
    return `${amountMinor} ${currency} (minor units)`;
  }
}

function alertLine(a: AlertFieldsFragment): string {
  const state = a.resolvedAt ? `resolved by ${a.resolvedBy ?? '?'} at ${a.resolvedAt}` : 'open';
  const count = a.occurrences > 1 ? ` x${a.occurrences}` : '';
  return `${a.id}  ${a.severity.padEnd(8)}  ${a.type.padEnd(23)}  ${a.title}${count}  [${state}]`;
}

async function payments(endpoint: RecoupEndpoint, flags: Flags, out: Line): Promise<void> {
  const statuses = flags.status ? [flags.status.toUpperCase() as PaymentStatus] : undefined;
  const { payments: page } = await request(endpoint, AdminPaymentsDocument, { first: pageSize(flags.first), filter: statuses ? { statuses } : null });
  const nodes = page.edges.map((edge) => edge.node);
  if (flags.json) return out(JSON.stringify({ totalCount: page.totalCount, payments: nodes }));
  for (const p of nodes) out(`${p.id}  ${p.status.padEnd(10)}  ${money(p.amountMinor, p.currency).padStart(12)}  ${p.createdAt}`);
  out(`${nodes.length} of ${page.totalCount} payment(s)`);
}

async function alerts(endpoint: RecoupEndpoint, flags: Flags, out: Line): Promise<void> {
  const filter = flags.open ? { open: true } : null;
  const { alerts: page } = await request(endpoint, AdminAlertsDocument, { first: pageSize(flags.first), filter });
  const nodes = page.edges.map((edge) => edge.node);
  if (flags.json) return out(JSON.stringify({ totalCount: page.totalCount, alerts: nodes }));
  for (const a of nodes) out(alertLine(a));
  out(`${nodes.length} of ${page.totalCount} ${flags.open ? 'open ' : ''}alert(s)`);
}

async function resolveAlert(endpoint: RecoupEndpoint, args: string[], flags: Flags, out: Line): Promise<void> {
  if (args.length !== 1) throw new UsageError('resolve-alert takes exactly one alert id');
  const { resolveAlert: alert } = await request(endpoint, ResolveAlertDocument, { id: args[0], note: flags.note ?? null });
  if (flags.json) return out(JSON.stringify(alert));
  out(`resolved ${alert.id} (${alert.title}) by ${alert.resolvedBy ?? '?'} at ${alert.resolvedAt ?? '?'}`);
}

/** Runs one command; answers the exit code. `err` receives error lines (stderr in the CLI). */
export async function runAdmin(argv: string[], endpoint: RecoupEndpoint, out: Line, err: Line = out): Promise<number> {
  try {
    const { command, args, flags } = parse(argv);
    if (flags.help || !command) {
      USAGE.forEach((line) => (flags.help ? out : err)(line));
      return flags.help ? EXIT.ok : EXIT.usage;
    }
    if (command === 'payments') await payments(endpoint, flags, out);
    else if (command === 'alerts') await alerts(endpoint, flags, out);
    else if (command === 'resolve-alert') await resolveAlert(endpoint, args, flags, out);
    else throw new UsageError(`unknown command "${command}"`);
    return EXIT.ok;
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

if (require.main === module) {
  const token = process.env.RECOUP_TOKEN;
  const help = process.argv.includes('--help') || process.argv.includes('-h');
  if (!token && !help) {
    console.error('error: RECOUP_TOKEN is not set (a bearer JWT with role VIEWER, OPERATOR or ADMIN)');
    process.exitCode = EXIT.usage;
  } else {
    const endpoint = { url: process.env.RECOUP_URL ?? 'http://127.0.0.1:4000', token: token ?? '' };
    runAdmin(process.argv.slice(2), endpoint, (line) => console.log(line), (line) => console.error(line)).then(
      (code) => (process.exitCode = code),
      (error: unknown) => {
        console.error(error);
        process.exitCode = EXIT.refused;
      },
    );
  }
}
