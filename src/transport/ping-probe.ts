import type { SchedulerLike, Subscription } from 'rxjs';

/** Sends one PING; `answered` is called once, with whether the ACK came back (false on an error). */
export type SendPing = (answered: (ok: boolean) => void) => boolean;

/**
 * OkHttp's degraded-connection check, on a clock: every `intervalMs` (counted from the last
 * answer) it sends a PING and waits `timeoutMs` for its ACK. A PING left unanswered means
 * the peer or the path to it has gone quiet: `onDegraded` is called, once, and the probe
 * stops. Only one PING is in flight at a time.
 *
 * {@link PingProbe.checkNow} sends one at once, off the clock, when a user of the connection
 * has reason to doubt it (OkHttp sends its "degraded ping" when a stream's read times out).
 *
 * Time is the given scheduler's (the pool's), so that tests drive it in virtual time.
 */
export class PingProbe {
  readonly #scheduler: SchedulerLike;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #send: SendPing;
  readonly #onDegraded: () => void;
  #timer: Subscription | null = null;
  /** Which PING is awaited: an answer to an older one (after its deadline) is ignored. */
  #serial = 0;
  #stopped = false;
  /** True while a PING is out (its deadline is scheduled). */
  #awaiting = false;
  /** When the last PING was answered in time (scheduler ms), or null. */
  #lastAnsweredAt: number | null = null;
  #sent = 0;
  #answered = 0;

  constructor(scheduler: SchedulerLike, intervalMs: number, timeoutMs: number, send: SendPing, onDegraded: () => void) {
    this.#scheduler = scheduler;
    this.#intervalMs = intervalMs;
    this.#timeoutMs = timeoutMs;
    this.#send = send;
    this.#onDegraded = onDegraded;
  }

  /** PINGs sent and answered in time so far. */
  get counts(): { readonly sent: number; readonly answered: number } {
    return { sent: this.#sent, answered: this.#answered };
  }

  /** Schedules the first PING, `intervalMs` from now. A probe with an infinite interval never pings. */
  start(): void {
    if (this.#stopped || this.#intervalMs === Infinity) return;
    this.#schedule(() => this.#ping(), this.#intervalMs);
  }

  /**
   * Sends a PING now and waits at most `timeoutMs` for its ACK, unless one is already out
   * (its own deadline decides) or one was answered less than `freshForMs` ago (the peer was
   * heard just now; and servers such as gRPC's answer PINGs sent too often with GOAWAY).
   * Returns whether a PING is out afterwards. Does nothing once the probe has stopped.
   */
  checkNow(timeoutMs: number, freshForMs = 0): boolean {
    if (this.#stopped) return false;
    if (this.#awaiting) return true;
    if (this.#lastAnsweredAt !== null && this.#scheduler.now() - this.#lastAnsweredAt < freshForMs) return false;
    this.#ping(Math.min(timeoutMs, this.#timeoutMs));
    return this.#awaiting;
  }

  /** Cancels whatever is scheduled; the probe does nothing more. Idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#awaiting = false;
    this.#timer?.unsubscribe();
    this.#timer = null;
  }

  #schedule(work: () => void, delay: number): void {
    this.#timer?.unsubscribe();
    this.#timer = this.#scheduler.schedule(work, delay);
  }

  #ping(timeoutMs = this.#timeoutMs): void {
    if (this.#stopped) return;
    const serial = ++this.#serial;
    let sent: boolean;
    try {
      sent = this.#send((ok) => this.#onAnswer(serial, ok));
    } catch {
      sent = false;
    }
    if (!sent) {
      // The session is closing or gone: there is nothing left to watch.
      this.stop();
      return;
    }
    this.#sent++;
    this.#awaiting = true;
    this.#schedule(() => this.#onTimeout(serial), timeoutMs);
  }

  #onAnswer(serial: number, ok: boolean): void {
    if (this.#stopped || serial !== this.#serial) return;
    if (!ok) {
      // The session failed under the PING: its own 'close' reports that.
      this.stop();
      return;
    }
    this.#answered++;
    this.#awaiting = false;
    this.#lastAnsweredAt = this.#scheduler.now();
    if (this.#intervalMs === Infinity) {
      this.#timer?.unsubscribe();
      this.#timer = null;
    } else {
      this.#schedule(() => this.#ping(), this.#intervalMs);
    }
  }

  #onTimeout(serial: number): void {
    if (this.#stopped || serial !== this.#serial) return;
    this.stop();
    this.#onDegraded();
  }
}
