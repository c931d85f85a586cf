import { isatty } from 'node:tty';
import { BatchedFdStream, createLogger, type Logger } from '@roundguard/logger';
import { createHttpServerMetrics, metricsHandler } from '@roundguard/metrics';
import { parseOptions, USAGE, type ParsedCommandLine } from './options.js';
import { createEchoServer } from './server.js';
import { gracefulShutdown, type GracefulShutdown } from './shutdown.js';

/** Exit status for a bad command line or environment (nothing was started). */
const EXIT_USAGE = 2;
/** Exit status when the server could not start (e.g. the port is taken). */
const EXIT_START_FAILED = 1;

/** Longest wait for the last log lines before exiting (stdout may be a pipe nobody reads). */
const FLUSH_TIMEOUT_MS = 2000;

function flushLogs(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, FLUSH_TIMEOUT_MS);
    void logger.flush().then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function main(): Promise<void> {
  let parsed: ParsedCommandLine;
  try {
    // isatty(1), not process.stdout.isTTY: creating process.stdout would switch a stdout pipe to
    // non-blocking mode, and logs are written to fd 1 directly (see BatchedFdStream).
    parsed = parseOptions(process.argv.slice(2), process.env, isatty(1));
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_ECHO_INVALID_OPTION') throw err;
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  if (parsed.help) {
    process.stdout.write(parsed.version === undefined ? USAGE : `${parsed.version}\n`);
    return;
  }
  const options = parsed.options;

  // Records are named after the instance (`echo-<port>` unless --name is given), so that several echo
  // backends writing to one terminal can be told apart; the port is known once listening.
  const destination = new BatchedFdStream(1);
  // stdout has gone away (EPIPE): there is nowhere left to report anything, keep serving.
  destination.on('error', () => {});
  // Lines of the current loop turn are still buffered when the process exits: write them out.
  process.on('exit', () => destination.flushSync());
  const loggerNamed = (name: string): Logger =>
    createLogger({ format: options.logFormat, level: options.logLevel, name, destination });
  let logger = loggerNamed(options.name ?? 'echo');
  const metrics = createHttpServerMetrics({ prefix: 'echo_' });
  const serveMetrics = metricsHandler(metrics.registry, {
    onError: (err) => logger.error('metrics collection failed', { err }),
  });
  const echo = createEchoServer({ ...options, logger, metrics, serveMetrics });

  let address: { host: string; port: number; name: string };
  try {
    address = await echo.listen();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
    logger.error('listen failed', { host: options.host, port: options.port, err });
    await flushLogs(logger);
    process.stderr.write(`echo: cannot listen on ${options.host}:${options.port}: ${code}\n`);
    process.exit(EXIT_START_FAILED);
  }
  if (address.name !== options.name) {
    logger = loggerNamed(address.name);
    echo.handler.setLogger(logger);
  }
  let shutdown: GracefulShutdown | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shutdown !== undefined) {
      shutdown.force();
      return;
    }
    shutdown = gracefulShutdown({
      server: echo.server,
      handler: echo.handler,
      logger,
      timeoutMs: options.shutdownTimeout,
      reason: signal,
    });
    void shutdown.done.then(async () => {
      logger.info('stopped', { reason: signal });
      await flushLogs(logger);
      process.exit(0);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  logger.info('listening', {
    host: address.host,
    port: address.port,
    max_body: options.maxBody,
    pid: process.pid,
  });
}

await main();
