// Throughput rounds for the dispatcher benches: contenders take turns in slices, so that a
// change of load on this shared machine weighs on all of them alike.

/** Seconds that `concurrency` loops sharing `total` calls of `send` take. */
export async function timed(send, concurrency, total) {
  let left = total;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) await send();
    }),
  );
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * One round: after a warm-up of half a slice each, every contender (`runners[name]`, a
 * function that sends one request and reads its response) sends `total` requests in `slices`
 * slices taken in turns, in `order` (A B A B ...). Returns requests per second by contender.
 */
export async function sliceRound(runners, { concurrency, total, slices, order }) {
  const seconds = Object.fromEntries(order.map((name) => [name, 0]));
  const slice = Math.ceil(total / slices);
  for (const name of order) await timed(runners[name], concurrency, Math.ceil(slice / 2)); // warm-up
  for (let i = 0; i < slices; i++) {
    for (const name of order) seconds[name] += await timed(runners[name], concurrency, slice);
  }
  return Object.fromEntries(order.map((name) => [name, (slice * slices) / seconds[name]]));
}
