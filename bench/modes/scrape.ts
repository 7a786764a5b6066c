// `--mode=scrape`: /metrics scrape time of the full template (realistic series, then with extra label
// sets), then the RSS soak; writes scrape.json and scrape.md.
import type { Harness } from '../lib/harness.ts';
import { fix, int, machineLines, pct, table, verdict } from '../lib/markdown.ts';
import { timeScrapes } from '../lib/proc.ts';
import type { RunHeader } from '../lib/results.ts';
import { spread } from '../lib/stats.ts';
import { fullTemplate, rssSoak, type SoakResults, soakTables } from './soak.ts';

export interface ScrapeResults extends RunHeader {
  kind: 'scrape';
  settings: { scrapes: number; labelSets: number; rssSeconds: number; rssWarmupSeconds: number };
  scrape: { case: string; format: string; ms: number[]; series: number; bytes: number }[];
  rss: SoakResults;
}

const FORMATS = [
  ['classic', undefined],
  ['OpenMetrics', 'application/openmetrics-text; version=1.0.0'],
] as const;

export async function scrape(h: Harness): Promise<void> {
  const scrapes = h.num('scrapes', { min: 1 });
  const labelSets = h.num('label-sets', { min: 1 });
  const rssSeconds = h.num('rss-duration');
  const rssWarmup = h.num('rss-warmup');
  const header = h.header();
  const env = await h.setup();
  const results: Omit<ScrapeResults, 'rss'> = {
    kind: 'scrape',
    ...header,
    settings: { scrapes, labelSets, rssSeconds, rssWarmupSeconds: rssWarmup },
    scrape: [],
  };
  try {
    // Realistic series: after a mix of real, unknown and refused requests; then 2,000 extra label
    // sets on the request-duration histogram, through the template's own registry.
    for (const [name, extra] of [
      ['realistic', {}],
      [`${labelSets} label sets`, { BENCH_EXTRA_LABEL_SETS: String(labelSets) }],
    ] as const) {
      const srv = await env.start(fullTemplate(), name === 'realistic' ? 'scrape' : 'scrape-labels', {
        env: extra,
      });
      try {
        if (name === 'realistic')
          await h.load({
            url: srv.url,
            path: '/',
            connections: 10,
            warmupSeconds: 0,
            durationSeconds: Math.min(10, Math.max(2, rssWarmup)),
            randomPaths: h.randomPaths,
          });
        for (const [format, accept] of FORMATS) {
          const r = await timeScrapes(`${srv.metricsUrl}/metrics`, scrapes, accept);
          results.scrape.push({ case: name, format, ...r });
          process.stderr.write(`scrape ${name} ${format}: ${r.series} series\n`);
        }
      } finally {
        await srv.proc.stop();
      }
    }
    h.save('scrape', { ...results, rss: await rssSoak(h, env, rssSeconds, rssWarmup) } as ScrapeResults);
  } finally {
    await env.teardown();
  }
}

export function scrapeReport(s: ScrapeResults): string[] {
  const realistic = s.scrape.find((x) => x.case === 'realistic' && x.format === 'classic');
  const scrapeMs = spread(realistic?.ms ?? []).median;
  const rssChange = s.rss.finalBytes / s.rss.baselineBytes - 1;
  const known = (x: number, ok: boolean) => verdict(Number.isFinite(x) ? ok : undefined);
  return [
    '# `/metrics` scrape time and RSS (`npm run bench -- --mode=scrape`)',
    '',
    ...machineLines(s),
    `## ${s.settings.scrapes} sequential scrapes per case`,
    '',
    ...table(
      'case | format | series (lines) | body bytes | median ms | p90 ms | max ms',
      s.scrape.map((x) => {
        const sorted = [...x.ms].sort((a, b) => a - b);
        const p90 = sorted[Math.floor(x.ms.length * 0.9)] ?? Number.NaN;
        return `${x.case} | ${x.format} | ${int(x.series)} | ${int(x.bytes)} | ${fix(spread(x.ms).median, 2)} | ${fix(p90, 2)} | ${fix(sorted.at(-1) ?? Number.NaN, 2)}`;
      }),
      'll',
    ),
    ...soakTables(s.rss, s.settings.rssSeconds, s.settings.rssWarmupSeconds),
    ...table(
      'target | measured | verdict',
      [
        `\`/metrics\` scrape ≤ 10 ms median at the realistic series count | ${fix(scrapeMs, 2)} ms | ${known(scrapeMs, scrapeMs <= 10)}`,
        `RSS within ±10 % after ${s.settings.rssSeconds} s of random-path traffic | ${pct(rssChange)} | ${known(rssChange, Math.abs(rssChange) <= 0.1)}`,
      ],
      'lrl',
    ),
  ];
}
