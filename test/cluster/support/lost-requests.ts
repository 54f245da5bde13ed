import type { ConnectionClose } from './backends.js';
import { LostRequestError, type UsedConnection } from './request-tracer.js';

/**
 * Where a client's agent can see that a backend closed a connection: in the kernel (it asks
 * whether a FIN waits unread, as Node 24's http.Agent and the PooledAgent do), or only once
 * its event loop has read the FIN (Node 20, whose sockets cannot be asked).
 */
export type WhereClosesAreSeen = 'kernel' | 'event loop';

/** One client's lost requests, by whether its agent could have seen the close of their connection. */
export interface SortedLosses {
  /**
   * Made when the close of their connection could already be seen: the backend had closed
   * it before the request was made, and its FIN was in the client's kernel ('kernel'), or
   * had been read by the client's event loop ('event loop'). The request was made before its
   * agent chose a connection, so the agent sent it into a connection it could have known
   * was closed: its fault.
   */
  readonly avoidable: LostRequestError[];
  /**
   * Made before the close could be seen: the backend closed the connection while the
   * request was being handed over, was on its way or unread in the backend's buffer (or, on
   * a runtime whose sockets cannot be asked, the FIN was in the kernel but not yet read by
   * the event loop). An agent that chooses the connection when the request is made, as
   * http.Agent does in http.get, loses it too.
   */
  readonly unavoidable: LostRequestError[];
  /** Failures on no connection a backend closed: not explained by the stops. */
  readonly unexplained: Error[];
}

/** The backend's close of `connection`: the first close of that name after the client first used it (a port used again is another connection). */
export function closeOf(connection: UsedConnection, closes: readonly ConnectionClose[]): ConnectionClose | undefined {
  return closes.find((close) => close.connection === connection.name && close.at > connection.since);
}

/** Sorts a client's failures by whether its agent could have seen the close of their connection when they were made. */
export function sortLosses(failures: readonly Error[], closes: readonly ConnectionClose[], seenIn: WhereClosesAreSeen): SortedLosses {
  const sorted: SortedLosses = { avoidable: [], unavoidable: [], unexplained: [] };
  for (const failure of failures) {
    const connection = failure instanceof LostRequestError ? failure.connection : undefined;
    const close = connection && closeOf(connection, closes);
    if (connection === undefined || close === undefined) {
      sorted.unexplained.push(failure);
      continue;
    }
    const lost = failure as LostRequestError;
    const seenAt = seenIn === 'kernel' ? close.at : connection.endReadAt;
    if (seenAt !== undefined && seenAt < lost.madeAt) sorted.avoidable.push(lost);
    else sorted.unavoidable.push(lost);
  }
  return sorted;
}
