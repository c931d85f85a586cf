export {
  Balancer,
  type BalancerOptions,
  type InitialHealth,
  type HealthChangeListener,
  type TargetsChangeListener,
} from './balancer.js';
export {
  HealthChecker,
  type HealthCheckerOptions,
  type HealthCheckerEvents,
  type ProbeEvent,
  type DownEvent,
  type UpEvent,
} from './health-checker.js';
export { httpProbe, type HttpProbeOptions, type HttpTarget } from './http-probe.js';
export type { Probe, ProbeResult, ProbeFailure, ProbeOutcome } from './probe.js';
export type { Target, TargetStatus } from './target.js';
export type { Unsubscribe } from './listeners.js';
export { BalancerError, type BalancerErrorCode } from './errors.js';
