// The library is silent unless the caller injects a logger (the CLI supplies one that writes to stderr).

export interface Logger {
  debug(message: string): void
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

const ignore = (): void => {}

export const silentLogger: Logger = {debug: ignore, info: ignore, warn: ignore, error: ignore}
