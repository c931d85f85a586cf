export { BalancedDispatcher } from './balanced-dispatcher.js';
export type { BalancedDispatchHandler } from './attempt.js';
export type {
  BalancedDispatcherOptions,
  HealthCheckOptions,
  OutlierDetectionOptions,
  RetryOptions,
} from './options.js';
export type { UpstreamSpec, UpstreamObject } from './upstream-spec.js';
export type { Upstream, UpstreamStatus, UpstreamState, AdminState } from './upstream.js';
export type {
  BalancedDispatcherEvents,
  ProbeEvent,
  DownEvent,
  UpEvent,
  EjectedEvent,
  RestoredEvent,
  StateChangeEvent,
  RetryEvent,
  DnsLookupEvent,
} from './events.js';
export { DispatcherError, NoHealthyUpstreamError, type DispatcherErrorCode } from './errors.js';
