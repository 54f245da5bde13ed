/** The injection token of the service's {@link AppConfig}. */
export const APP_CONFIG = Symbol('AppConfig');

/** The injection token of the {@link UpstreamClient} the proxy forwards through. */
export const UPSTREAM_CLIENT = Symbol('UpstreamClient');

/** The injection token of the {@link UpstreamTarget} (where the proxy forwards to). */
export const UPSTREAM_TARGET = Symbol('UpstreamTarget');
