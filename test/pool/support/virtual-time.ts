// The engine suite's name for the shared virtual clock.
export { VirtualClock } from '../../support/virtual-clock.js';
