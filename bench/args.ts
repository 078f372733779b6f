// Command-line parsing for `bun bench`. Errors are typed so main.ts can print
// one line plus usage and exit 2 instead of a stack trace.

export const SCENARIOS = ['connect', 'fanout', 'latency', 'stepup', 'memory', 'cluster'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
export const DEFAULT_SCENARIOS: ScenarioName[] = ['connect', 'fanout', 'latency', 'stepup', 'memory'];

export type Backend = 'bun' | 'node';

export interface Options {
  scenarios: ScenarioName[];
  /** undefined: scenario default */
  clients?: number;
  senders?: number;
  window: number;
  rate?: number;
  size: number;
  /** seconds of measurement per scenario (or per stepup step) */
  duration?: number;
  target?: string;
  backend: Backend;
  noCoalesce: boolean;
  maxClients: number;
  json: boolean;
  svg: string;
  compare?: string[];
  help: boolean;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage: bun bench [options]
  --scenario a,b       scenarios: ${SCENARIOS.join(', ')} (default: ${DEFAULT_SCENARIOS.join(',')})
  --clients N          connected clients (default per scenario: connect/fanout/latency/cluster 1000)
  --senders N          broadcasting clients (fanout 20, latency 10, stepup 5, cluster 10)
  --window N           closed-loop messages in flight per sender (default 16)
  --rate N             open-loop msg/s per sender (latency 100, stepup 20, cluster 100)
  --size N             message line size in bytes incl. newline (default 64, min 40)
  --duration S         measuring seconds per scenario / stepup step (default 5 / 3)
  --target HOST:PORT   measure a chat server that is already running
  --backend bun|node   backend for our server (default bun)
  --no-coalesce        start our server with --no-coalesce
  --max-clients N      stepup/memory ceiling (default 9000)
  --compare t1,t2,...  run against several targets side by side:
                       ours-bun, ours-node, ours-nocoalesce, c, or HOST:PORT
  --json               print one JSON object per scenario instead of a table
  --svg FILE           chart output (default bench/out/chart.svg)
  -h, --help           this text`;

function int(flag: string, v: string | undefined, min: number): number {
  if (v === undefined) throw new UsageError(`${flag} needs a value`);
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer >= ${min}, got '${v}'`);
  return n;
}

function num(flag: string, v: string | undefined, min: number): number {
  if (v === undefined) throw new UsageError(`${flag} needs a value`);
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`${flag} must be a number >= ${min}, got '${v}'`);
  return n;
}

export function parseHostPort(flag: string, v: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(v);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new UsageError(`${flag} expects HOST:PORT, got '${v}'`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

const COMPARE_NAMES = ['ours-bun', 'ours-node', 'ours-nocoalesce', 'c'];

export function parseArgs(argv: string[]): Options {
  const o: Options = {
    scenarios: [...DEFAULT_SCENARIOS],
    window: 16,
    size: 64,
    backend: 'bun',
    noCoalesce: false,
    maxClients: 9000,
    json: false,
    svg: 'bench/out/chart.svg',
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i];
    // accept --flag=value as well as --flag value
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    const value = (): string | undefined => (eq > 0 ? raw.slice(eq + 1) : argv[++i]);
    switch (flag) {
      case '--scenario': {
        const v = value();
        if (!v) throw new UsageError('--scenario needs a value');
        const names = v.split(',').map((s) => s.trim()).filter(Boolean);
        for (const n of names)
          if (!(SCENARIOS as readonly string[]).includes(n)) throw new UsageError(`unknown scenario '${n}'`);
        o.scenarios = names as ScenarioName[];
        break;
      }
      case '--clients': o.clients = int(flag, value(), 2); break;
      case '--senders': o.senders = int(flag, value(), 1); break;
      case '--window': o.window = int(flag, value(), 1); break;
      case '--rate': o.rate = num(flag, value(), 0.1); break;
      case '--size': o.size = int(flag, value(), 40); break;
      case '--duration': o.duration = num(flag, value(), 0.1); break;
      case '--max-clients': o.maxClients = int(flag, value(), 2); break;
      case '--target': {
        const v = value();
        if (!v) throw new UsageError('--target needs HOST:PORT');
        parseHostPort(flag, v);
        o.target = v;
        break;
      }
      case '--backend': {
        const v = value();
        if (v !== 'bun' && v !== 'node') throw new UsageError(`--backend must be bun or node, got '${v ?? ''}'`);
        o.backend = v;
        break;
      }
      case '--no-coalesce': o.noCoalesce = true; break;
      case '--json': o.json = true; break;
      case '--svg': {
        const v = value();
        if (!v) throw new UsageError('--svg needs a file name');
        o.svg = v;
        break;
      }
      case '--compare': {
        const v = value();
        if (!v) throw new UsageError('--compare needs a list of targets');
        const ts = v.split(',').map((s) => s.trim()).filter(Boolean);
        for (const t of ts) if (!COMPARE_NAMES.includes(t)) parseHostPort('--compare', t);
        o.compare = ts;
        break;
      }
      case '-h':
      case '--help': o.help = true; break;
      default:
        throw new UsageError(`unknown option '${raw}'`);
    }
  }
  if (o.target && o.compare) throw new UsageError('use either --target or --compare, not both');
  if (o.senders !== undefined && o.clients !== undefined && o.senders >= o.clients)
    throw new UsageError('--senders must be smaller than --clients (one client observes)');
  return o;
}
