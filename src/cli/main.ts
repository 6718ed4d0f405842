import { Command, InvalidArgumentError, Option } from 'commander';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return n;
};

const program = new Command('rema').description('Configuration backend for physical IoT equipment').showHelpAfterError();

const SERVICES = ['config', 'lifecycle', 'admin'] as const;

program
  .command('serve')
  .description('run every service in one process (embedded PostgreSQL unless DATABASE_URL is set), or one with --only')
  .option('--port <port>', 'HTTP port (env PORT)', int('port'), Number(process.env.PORT ?? 8080))
  .option('--host <host>', 'address to listen on (env HOST)', process.env.HOST ?? '127.0.0.1')
  .option('--data-dir <dir>', 'where the embedded database and the API token live (env REMA_DATA_DIR)', process.env.REMA_DATA_DIR ?? './data')
  .addOption(
    new Option('--only <service>', 'run one service (needs DATABASE_URL, REMA_SERVICE_SECRET and the peers: REMA_ADMIN_URL, for lifecycle also REMA_CONFIG_URL)').choices(SERVICES),
  )
  .action(async (opts: { port: number; host: string; dataDir: string; only?: (typeof SERVICES)[number] }) => {
    const { serve } = await import('./serve.ts');
    await serve(opts);
  });

program
  .command('gateway')
  .description('the public entry point: routes /v1/* to the config, lifecycle and admin services and merges their OpenAPI')
  .option('--port <port>', 'HTTP port (env PORT)', int('port'), Number(process.env.PORT ?? 8080))
  .option('--host <host>', 'address to listen on (env HOST)', process.env.HOST ?? '127.0.0.1')
  .option('--config-url <url>', 'the configuration service (env REMA_CONFIG_URL)', process.env.REMA_CONFIG_URL)
  .option('--lifecycle-url <url>', 'the lifecycle service (env REMA_LIFECYCLE_URL)', process.env.REMA_LIFECYCLE_URL)
  .option('--admin-url <url>', 'the admin service (env REMA_ADMIN_URL)', process.env.REMA_ADMIN_URL)
  .action(async (opts) => {
    const { gatewayCommand } = await import('./gateway.ts');
    await gatewayCommand(opts);
  });

program
  .command('seed')
  .description('build a realistic fleet through the write path (change sets over the API)')
  .option('--sites <n>', 'number of sites', int('sites'), 500)
  .option('--assets <n>', 'total number of assets', int('assets'), 25000)
  .option('--url <url>', 'rema API base URL (env REMA_URL)', process.env.REMA_URL ?? 'http://127.0.0.1:8080')
  .option('--token <token>', 'API token (env REMA_TOKEN, else ./data/api-token)')
  .option('--concurrency <n>', 'change sets in flight', int('concurrency'), 8)
  .option('--seed <n>', 'seed of the generated fleet: same seed, same fleet', int('seed'), 1)
  .option('--prefix <tag>', 'seed a second fleet beside the first (site codes <TAG>-S0001, own serials and ids)')
  .addHelpText('after', '\nRe-running is idempotent: complete sites are skipped, interrupted ones resumed.')
  .action(async (opts) => {
    const { seedCommand } = await import('./seed.ts');
    await seedCommand(opts);
  });

program
  .command('validate')
  .description('re-check stored sites against every rule and print the violations')
  .option('--all', 'every site')
  .option('--site <code>', 'one site by code')
  .option('--url <url>', 'rema API base URL (env REMA_URL)', process.env.REMA_URL ?? 'http://127.0.0.1:8080')
  .option('--token <token>', 'API token (env REMA_TOKEN, else ./data/api-token)')
  .action(async (opts) => {
    const { validateCommand } = await import('./validate.ts');
    process.exitCode = await validateCommand(opts);
  });

program
  .command('simulate')
  .description("play a site's gateways against the MQTT broker: apply and acknowledge deployed configuration")
  .requiredOption('--site <code>', 'code of the site to simulate')
  .option('--url <url>', 'rema API base URL (env REMA_URL)', process.env.REMA_URL ?? 'http://127.0.0.1:8080')
  .option('--token <token>', 'API token (env REMA_TOKEN, else ./data/api-token)')
  .option('--mqtt-url <url>', 'MQTT broker (env MQTT_URL, else the embedded broker of a running rema serve)')
  .option('--latency-ms <ms>', 'time a device takes to apply a configuration', int('latency-ms'), 200)
  .option('--failure-rate <rate>', 'share (0–1) of configurations devices reject', (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('failure-rate must be between 0 and 1');
    return n;
  }, 0)
  .option('--offline-gateways <n>', 'this many gateways (the first by name) stay offline', int('offline-gateways'), 0)
  .option('--seed <n>', 'fixes which configurations are rejected', int('seed'), 1)
  .option('--duration <seconds>', 'stop after this many seconds (default: until Ctrl-C)', int('duration'))
  .action(async (opts) => {
    const { simulateCommand } = await import('./simulate.ts');
    process.exitCode = await simulateCommand(opts);
  });

program
  .command('audit')
  .description('audit log tools')
  .command('verify')
  .description('walk every hash chain of the audit log and report tampering (exit 1 if any)')
  .option('--site <id>', 'only the chain of one site (uuid)')
  .action(async (opts: { site?: string }) => {
    const { auditVerifyCommand } = await import('./audit-verify.ts');
    process.exitCode = await auditVerifyCommand(opts);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // A command that cannot do its work (a database or API it cannot reach, a refused token, an
  // argument it cannot use) says why in one line and exits 2 — 1 is a command's own "found
  // problems" (validate, audit verify). REMA_DEBUG=1 prints the stack too.
  const message = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
  console.error(`rema ${program.args[0] ?? ''}: ${message}${cause}`.replace('rema : ', 'rema: '));
  if (process.env.REMA_DEBUG === '1' && err instanceof Error) console.error(err.stack);
  process.exit(2);
}
// `serve` and `gateway` keep running on their listeners; every other command ends here with its
// exit code (set explicitly: the embedded database's exit hooks would otherwise reset it to 0).
if (program.args[0] !== 'serve' && program.args[0] !== 'gateway') process.exit(process.exitCode ?? 0);
