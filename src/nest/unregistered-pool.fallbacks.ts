import { Scope, type Provider } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { InvalidOptionError } from '../pool/index.js';
import { ConnectionPoolCoreModule } from './connection-pool-core.module.js';
import { ConnectionPoolRegistry } from './connection-pool.registry.js';
import { CONNECTION_POOL_NAME, DEFAULT_POOL_NAME, getConnectionPoolToken } from './connection-pool.tokens.js';

// Nest's own answer to `@InjectConnectionPool('paymnets')` with no such pool is "can't resolve
// dependencies ... paymnetsConnectionPool", which does not say which pools there are. So every
// name asked for by @InjectConnectionPool and declared by no ConnectionPoolModule.forRoot() of
// the process gets a stand-in provider in the global core module, whose factory throws an error
// that lists the application's pools. Names that some forRoot() declares never get one, so a
// stand-in never hides a real pool, whatever the order Nest looks modules up in. Stand-ins are
// transient: Nest makes one only for a class that injects it, never at bootstrap on its own.

/** Pool names asked for by `@InjectConnectionPool(name)`, and the classes that ask. */
const requested = new Map<string, Set<string>>();
/** Pool names given to `ConnectionPoolModule.forRoot()`/`forRootAsync()` in this process. */
const declared = new Set<string>();

/** `@InjectConnectionPool(name)` in `consumer` (a class name) asks for the pool `name`. */
export function recordPoolRequest(name: string, consumer: string): void {
  if (name === DEFAULT_POOL_NAME) return; // injected by its class: Nest's message names ConnectionPool
  const consumers = requested.get(name) ?? new Set<string>();
  consumers.add(consumer);
  requested.set(name, consumers);
  updateCoreModule();
}

/** A `ConnectionPoolModule.forRoot({ name })` declares the pool `name`. */
export function recordPoolDeclaration(name: string): void {
  declared.add(name);
  updateCoreModule();
}

/** The names of the pools registered by the modules of an application. */
function registeredPoolNames(modules: ModulesContainer): string[] {
  const names: string[] = [];
  for (const moduleRef of modules.values()) {
    const name = moduleRef.providers.get(CONNECTION_POOL_NAME)?.instance;
    if (typeof name === 'string') names.push(name);
  }
  return names;
}

function standIn(name: string): Provider {
  return {
    provide: getConnectionPoolToken(name),
    scope: Scope.TRANSIENT,
    inject: [ModulesContainer],
    useFactory: (modules: ModulesContainer): never => {
      const registered = registeredPoolNames(modules).map((n) => JSON.stringify(n)).join(', ') || 'none';
      const consumers = [...(requested.get(name) ?? [])].join(', ');
      throw new InvalidOptionError(
        'pool',
        name,
        `the name of a pool registered with ConnectionPoolModule.forRoot({ name }) in this application (registered: ${registered}); ` +
          `@InjectConnectionPool(${JSON.stringify(name)}) in ${consumers} asks for it: fix the name, or register a pool of that name`,
      );
    },
  };
}

/**
 * Sets the core module's providers and exports: the registry, and a stand-in per unknown name.
 * Nest reads a module's metadata when an application is made, so this is in time for every
 * application made after the classes and modules it imports were defined.
 */
function updateCoreModule(): void {
  const unknown = [...requested.keys()].filter((name) => !declared.has(name));
  // The keys @Module() writes (MODULE_METADATA.PROVIDERS / EXPORTS, the same in Nest 11 and 12).
  Reflect.defineMetadata('providers', [ConnectionPoolRegistry, ...unknown.map(standIn)], ConnectionPoolCoreModule);
  Reflect.defineMetadata('exports', [ConnectionPoolRegistry, ...unknown.map((name) => getConnectionPoolToken(name))], ConnectionPoolCoreModule);
}
