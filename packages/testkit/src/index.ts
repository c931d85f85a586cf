export { request, type RequestOptions, type Response } from './http-client.js';
export { freePort } from './ports.js';
export { fdCount, MiB, rssBytes } from './proc-stats.js';
export {
  cleanEnv,
  runToExit,
  spawnLogged,
  stopAllProcesses,
  type ExitStatus,
  type LoggedProcess,
  type LogRecord,
  type RunResult,
  type SpawnOptions,
} from './processes.js';
export { parseMetrics, sumOf, type Sample } from './prometheus.js';
export {
  decodeChunked,
  headerRecord,
  parseHead,
  parseResponse,
  parseResponses,
  rawExchange,
  RawClient,
  type ConnectOptions,
  type ParseOptions,
  type RawResponse,
  type ResponseHead,
} from './raw-http.js';
export { sleep, waitFor } from './wait.js';
