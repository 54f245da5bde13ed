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
 * `--no-concurrent-array-buffer-sweeping`: the memory of dead `ArrayBuffer`s (Node reads each
 * socket into a new one) is given back during the young-generation collection that finds them
 * dead, rather than later by a background task. Until that task has run, V8 counts the memory
 * as still in use; proxying 1 MiB bodies allocates it at over 1 GB/s, the count passed V8's
 * external-memory limit, and V8 started full collections that found nothing to free: 8 to 16
 * mark-compacts per second of uploads, the gateway's CPU per upload 1,200-2,200 µs instead of
 * 600-700 (bench/RESULTS.md, issue 15, session 7). On two cores shared with the load, the
 * background task ran late. The sweeping costs the collection a few hundred microseconds at most.
 *
 * Only the service's process: the library sets no V8 flag in its users' processes.
 */
export const GATEWAY_V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring', '--no-concurrent-array-buffer-sweeping'];

/** Applies {@link GATEWAY_V8_FLAGS} to this process (a flag given on the command line is overridden). */
export function tuneV8ForTheGateway(): void {
  for (const flag of GATEWAY_V8_FLAGS) setFlagsFromString(flag);
}

/**
 * The C library settings the gateway process starts with (`GLIBC_TUNABLES`): set by the
 * Dockerfile's `ENV` and by `npm start`, since glibc reads them when a process starts, before
 * any of its code runs (test/k8s/dockerfile.test.ts checks that both say this).
 *
 * `glibc.malloc.trim_threshold` 64 MiB: Node reads a socket into a fresh 64 KiB buffer each
 * time, and frees the buffers of a body when the garbage collector finds them dead, many at
 * once. With glibc's default threshold (128 KiB, raised only by accident of what the process
 * allocated before), each such free gives the top of the heap back to the kernel, and the next
 * reads take it again, page by page: 50 to 280 page faults per proxied 1 MiB body, and up to
 * half of the gateway's CPU for large bodies (bench/RESULTS.md, issue 15, session 7). Above it,
 * the freed memory stays for the next reads; the process keeps up to 64 MiB it no longer uses.
 * Other C libraries (musl) ignore the variable.
 */
export const GATEWAY_GLIBC_TUNABLES = 'glibc.malloc.trim_threshold=67108864';
