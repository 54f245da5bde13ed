/** The label that stands for every address past the limit. */
export const OTHER_ADDRESS_LABEL = 'other';

/**
 * Bounds the `address` label of the metrics: the first `max` distinct addresses seen keep
 * their own (redacted) label, every later one shares {@link OTHER_ADDRESS_LABEL}. Each label
 * is a time series per metric in Prometheus, so a wild set of hosts (a crawler, per-tenant
 * subdomains) must not make an unbounded number of them.
 *
 * An address keeps its label once it has one: a counter's series must not move from one
 * label to another while the process lives.
 */
export class AddressLabels {
  readonly #labels = new Set<string>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** The label for `address`: itself while there is room, else `'other'`. */
  labelFor(address: string): string {
    if (this.#labels.has(address)) return address;
    if (this.#labels.size >= this.#max) return OTHER_ADDRESS_LABEL;
    this.#labels.add(address);
    return address;
  }

  /** Addresses that have a label of their own. */
  get size(): number {
    return this.#labels.size;
  }
}
