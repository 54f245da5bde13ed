import { createRequire } from 'node:module';

/**
 * A feature of `reactive-connection-pool/nest` was used whose optional peer dependency is not
 * installed (`@nestjs/terminus` for the health indicator, `prom-client` for the metrics). The
 * message names the package to install and the feature that needs it.
 */
export class MissingPeerDependencyError extends Error {
  /** A stable, machine-readable code. */
  readonly code = 'ERR_MISSING_PEER_DEPENDENCY';
  /** The package to install. */
  readonly packageName: string;

  constructor(packageName: string, feature: string, options?: { cause?: unknown }) {
    super(
      `${feature} needs the package "${packageName}", which is not installed. Install it: npm install ${packageName} ` +
        '(an optional peer dependency of reactive-connection-pool: only the features that use it need it).',
      options,
    );
    this.name = 'MissingPeerDependencyError';
    this.packageName = packageName;
  }
}

// Optional peers are loaded with require(), synchronously, when a feature that needs one is
// used, never when the entry point is imported: an application without them imports
// `reactive-connection-pool/nest` and uses the rest. require() of an ES module peer
// (@nestjs/terminus 12) works on Node >= 20.19, the oldest Node this package supports, and
// gives the same instance that the application's own `import` gets.
const requirePeer = createRequire(import.meta.url);
const loaded = new Map<string, unknown>();

/**
 * The module `packageName`, loaded on first use.
 *
 * @param feature - what needs it, for the error message (`'ConnectionPoolMetrics'`).
 * @throws MissingPeerDependencyError (`ERR_MISSING_PEER_DEPENDENCY`) when it is not installed.
 */
export function loadOptionalPeer<Module>(packageName: string, feature: string): Module {
  if (loaded.has(packageName)) return loaded.get(packageName) as Module;
  let peer: unknown;
  try {
    peer = requirePeer(packageName);
  } catch (error) {
    // Only the package itself missing; a package that is there but fails to load says why itself.
    const missing =
      (error as NodeJS.ErrnoException | undefined)?.code === 'MODULE_NOT_FOUND' &&
      String((error as Error).message).startsWith(`Cannot find module '${packageName}'`);
    if (missing) throw new MissingPeerDependencyError(packageName, feature, { cause: error });
    throw error;
  }
  loaded.set(packageName, peer);
  return peer as Module;
}
