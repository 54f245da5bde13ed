/**
 * A small seeded pseudo-random generator (mulberry32) for the chaos tests: the same seed gives
 * the same sequence on every machine, so a run that went wrong can be replayed by its seed.
 * Not for anything that needs real randomness.
 */
export class SeededRandom {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /**
   * A generator for one stream of decisions (one connection, one client) derived from `seed`
   * and `stream`: each stream's sequence depends only on its own draws, not on how the event
   * loop interleaved it with others, which keeps real-network runs as reproducible as they can be.
   */
  static forStream(seed: number, stream: number): SeededRandom {
    // splitmix32-style mixing, so that neighbouring streams do not start out correlated.
    let h = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    return new SeededRandom((h ^ (h >>> 16)) >>> 0);
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** True with probability `p` (0 never draws, so that a disabled fault does not shift the sequence of the others). */
  chance(p: number): boolean {
    if (!(p > 0)) return false;
    return this.next() < p;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
}
