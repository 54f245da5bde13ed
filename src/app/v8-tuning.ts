import { setFlagsFromString } from 'node:v8';

/**
 * The V8 settings the gateway process runs with, set by `src/main.ts` before it serves.
 *
 * `--no-allocation-site-pretenuring`: V8 watches where objects are allocated, and when nearly
 * all objects of an allocation site are still alive at a young-generation collection it
 * allocates that site's objects in the old generation from then on ("pretenuring"). Under a
 * gateway's load it makes that decision for about ten sites of the proxy's request path as
 * the load starts; each request's objects, and the young objects they point to, then outlive
 * it in the old generation until the next full collection: 3 MB promoted per scavenge, 2.5-5 ms
 * scavenges every 25 ms at c=32, a full collection every 0.7 s. Without it, the proxy's
 * requests die young, as a proxy's requests do (bench/RESULTS.md, issue 15: from 0.55x to
 * 0.71-0.78x of a hand-written proxy's throughput at c=32, p99 from 3.1x to 1.4-1.7x).
 *
 * Only the service's process: the library sets no V8 flag in its users' processes.
 */
export const GATEWAY_V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/** Applies {@link GATEWAY_V8_FLAGS} to this process (a flag given on the command line is overridden). */
export function tuneV8ForTheGateway(): void {
  for (const flag of GATEWAY_V8_FLAGS) setFlagsFromString(flag);
}
