// The library is silent unless the caller injects a logger (the CLI supplies one that writes to stderr,
// as text or as JSON lines).

/** Structured context of a log line; a text logger may ignore it, a JSON logger writes it as fields. */
export interface LogFields {
  model?: string
  count?: number
  error?: string
  [field: string]: string | number | boolean | undefined
}

export interface Logger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
}

const ignore = (): void => {}

export const silentLogger: Logger = {debug: ignore, info: ignore, warn: ignore, error: ignore}
