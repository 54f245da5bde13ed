import { ConfigurableModuleBuilder, type DynamicModule } from '@nestjs/common';
import { withCoreModule } from './connection-pool-core.module.js';
import type { ConnectionPoolMetricsOptions } from './connection-pool-metrics.options.js';
import { ConnectionPoolMetrics } from './connection-pool.metrics.js';
import { CONNECTION_POOL_METRICS_OPTIONS } from './connection-pool.tokens.js';

/** Options of a `ConnectionPoolMetricsModule` registration that shape the module. */
export interface ConnectionPoolMetricsModuleExtras {
  /** Make {@link ConnectionPoolMetrics} injectable everywhere. Default false. */
  isGlobal?: boolean;
}

/**
 * The class a `useClass` / `useExisting` options provider of
 * `ConnectionPoolMetricsModule.forRootAsync()` implements.
 */
export interface ConnectionPoolMetricsOptionsFactory {
  createConnectionPoolMetricsOptions(): ConnectionPoolMetricsOptions | Promise<ConnectionPoolMetricsOptions>;
}

function addMetrics(definition: DynamicModule, extras: ConnectionPoolMetricsModuleExtras): DynamicModule {
  return withCoreModule(definition, {
    isGlobal: extras.isGlobal,
    providers: [
      {
        provide: ConnectionPoolMetrics,
        useFactory: (options: ConnectionPoolMetricsOptions | undefined) => new ConnectionPoolMetrics(options ?? {}),
        inject: [CONNECTION_POOL_METRICS_OPTIONS],
      },
    ],
    exports: [ConnectionPoolMetrics],
  });
}

/** What `ConfigurableModuleBuilder` makes for `ConnectionPoolMetricsModule`. */
export const {
  ConfigurableModuleClass: ConfigurableMetricsModuleClass,
  OPTIONS_TYPE: METRICS_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: METRICS_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ConnectionPoolMetricsOptions>({ optionsInjectionToken: CONNECTION_POOL_METRICS_OPTIONS })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createConnectionPoolMetricsOptions')
  .setExtras<ConnectionPoolMetricsModuleExtras>({ isGlobal: false }, addMetrics)
  .build();

/** What `ConnectionPoolMetricsModule.forRoot()` takes. */
export type ConnectionPoolMetricsModuleOptions = typeof METRICS_OPTIONS_TYPE;

/** What `ConnectionPoolMetricsModule.forRootAsync()` takes. */
export type ConnectionPoolMetricsModuleAsyncOptions = typeof METRICS_ASYNC_OPTIONS_TYPE;
