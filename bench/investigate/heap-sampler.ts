// Preloaded (--import) into a benchmarked server by `npm run bench -- --mode=alloc`: V8's sampling heap
// profiler, started by the first SIGUSR2 and stopped (profile written to BENCH_HEAP_PROFILE) by the
// second, so the orchestrator brackets exactly the requests it counts. Objects the garbage collector
// has already freed are counted too: what a request allocates, not what it leaves behind.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

// Average bytes between samples (V8's default is 32 KB): a request allocates tens of KB, so a few
// thousand requests give tens of thousands of samples, and the profile stays a few MB.
export const SAMPLING_INTERVAL = 8192;
export const STARTED = '{"heapSampling":"started"}';
export const WRITTEN = '{"heapSampling":"written"}';

const out = process.env.BENCH_HEAP_PROFILE;
if (out) {
  const session = new Session();
  session.connect();
  let sampling = false;
  process.on('SIGUSR2', () => {
    void (async () => {
      if (!sampling) {
        sampling = true;
        // Both flags are in V8's protocol but not in @types/node's generated parameter type.
        const params: { samplingInterval: number } = {
          samplingInterval: SAMPLING_INTERVAL,
          ...{ includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true },
        };
        await session.post('HeapProfiler.enable');
        await session.post('HeapProfiler.startSampling', params);
        process.stderr.write(`${STARTED}\n`);
        return;
      }
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(out, JSON.stringify(profile));
      process.stderr.write(`${WRITTEN}\n`);
    })();
  });
}
