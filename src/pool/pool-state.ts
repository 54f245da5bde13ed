/**
 * Whether the pool is open, closing (draining its leases) or closed. Every part of the engine
 * reads it; only `PoolDrain` moves it on (`open → closing → closed`).
 */
export class PoolState {
  value: 'open' | 'closing' | 'closed' = 'open';

  get isOpen(): boolean {
    return this.value === 'open';
  }
}
