import { VirtualClock as SharedVirtualClock } from '../../support/virtual-clock.js';

/**
 * The shared virtual clock, started at 1,000,000 ms so that the service's timestamps are
 * never zero. Real I/O still happens in real time; the tests wait for it with bounded waits
 * on events, then move the clock.
 */
export class VirtualClock extends SharedVirtualClock {
  constructor(start = 1_000_000) {
    super(start);
  }
}
