/**
 * `setImmediate` as it is when this module loads. The HTTP clients of the pool take a turn of
 * the event loop in places (a reused connection is handed over after one, see the
 * PooledAgent); fake timers installed later (sinon's, Jest's) must not hold those turns back
 * until a test advances its clock, nor run them from its `runAll()`.
 */
export const loadTimeSetImmediate: typeof setImmediate = globalThis.setImmediate;
