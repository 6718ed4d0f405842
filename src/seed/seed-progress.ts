import cliProgress from 'cli-progress';

/** Progress of a seed run, counted in assets written and sites finished. */
export interface SeedProgress {
  /** Assets written by this run. */
  assets(n: number): void;
  /** Assets an earlier run already wrote: they advance the bar but not the rate. */
  alreadyThere(n: number): void;
  siteDone(): void;
  stop(): void;
}

/** Plain lines are printed at most this often when stderr is not a terminal (CI logs, pipes). */
const LINE_EVERY_MS = 2000;

/**
 * A progress bar on stderr when it is a terminal, otherwise a plain line every couple of
 * seconds, so logs stay readable. stdout is left for the summary.
 */
export function seedProgress(totalAssets: number, totalSites: number, stream: NodeJS.WriteStream = process.stderr): SeedProgress {
  const started = performance.now();
  let assets = 0;
  let written = 0;
  let sites = 0;
  const rate = () => Math.round(written / Math.max(0.001, (performance.now() - started) / 1000));

  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        hideCursor: true,
        format: 'seeding |{bar}| {percentage}% | {value}/{total} assets | {sites}/{totalSites} sites | {rate} assets/s | ETA {eta_formatted}',
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(totalAssets, 0, { sites: 0, totalSites, rate: 0 });
    return {
      assets(n) {
        assets += n;
        written += n;
        bar.update(assets, { rate: rate() });
      },
      alreadyThere(n) {
        assets += n;
        bar.update(assets, { rate: rate() });
      },
      siteDone() {
        sites++;
        bar.update(assets, { sites, rate: rate() });
      },
      stop: () => bar.stop(),
    };
  }

  let lastLine = started;
  const line = (force: boolean) => {
    const now = performance.now();
    if (!force && now - lastLine < LINE_EVERY_MS) return;
    lastLine = now;
    const pct = totalAssets ? Math.floor((100 * assets) / totalAssets) : 100;
    stream.write(`seed: ${fmt(assets)}/${fmt(totalAssets)} assets (${pct} %), ${fmt(sites)}/${fmt(totalSites)} sites, ${fmt(rate())} assets/s\n`);
  };
  return {
    assets(n) {
      assets += n;
      written += n;
      line(false);
    },
    alreadyThere(n) {
      assets += n;
      line(false);
    },
    siteDone() {
      sites++;
      line(false);
    },
    stop: () => line(true),
  };
}

export const fmt = (n: number) => n.toLocaleString('en-US');
