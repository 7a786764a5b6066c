// A start-up failure the operator fixes by changing one variable: server.ts prints it as one line.

/** Names the configuration variable to change and why; the process exits 1 without a stack trace. */
export class StartupError extends Error {
  readonly variable: string;
  constructor(variable: string, cause: string, options?: { cause?: unknown }) {
    super(`${variable}: ${cause}`, options);
    this.name = 'StartupError';
    this.variable = variable;
  }
}

/** Start-up stopped and the reason is already logged (one structured line): exit 1, print nothing more. */
export class StartupRefused extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupRefused';
  }
}

const LISTEN_REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'is already in use by another process',
  EACCES: 'needs privileges this process does not have (ports below 1024)',
  EADDRNOTAVAIL: 'is not an address of this machine',
};

/** A listen() failure, in terms of the variables that chose the address. */
export function listenFailure(
  err: unknown,
  vars: { readonly port: string; readonly host: string },
  at: { readonly host: string; readonly port: number },
): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return err;
  const where = `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new StartupError(
      vars.host,
      `${at.host} ${LISTEN_REASONS.EADDRNOTAVAIL} (${code}); change ${vars.host}`,
      { cause: err },
    );
  const reason = LISTEN_REASONS[code];
  if (reason === undefined) return err;
  return new StartupError(vars.port, `${where} ${reason} (${code}); choose another ${vars.port}`, {
    cause: err,
  });
}

// SQLite result codes that mean "this path cannot hold a database": PERM, READONLY, IOERR, CANTOPEN,
// NOTADB (primary codes; an extended code keeps its primary code in the low byte).
const SQLITE_STORAGE_CODES = new Set([3, 8, 10, 14, 26]);

/** A failure to create or open the SQLite file, in terms of DATABASE_PATH; other errors unchanged. */
export function databasePathFailure(err: unknown, path: string): unknown {
  const e = err as { code?: unknown; errcode?: unknown; syscall?: unknown; message?: unknown } | null;
  const fsError = typeof e?.syscall === 'string' && typeof e.code === 'string';
  const sqliteError = typeof e?.errcode === 'number' && SQLITE_STORAGE_CODES.has(e.errcode & 0xff);
  if (!fsError && !sqliteError) return err;
  const reason = fsError ? `${String(e?.code)} on ${String(e?.syscall)}` : String(e?.message);
  return new StartupError(
    'DATABASE_PATH',
    `cannot open ${path} for writing (${reason}); point DATABASE_PATH at a writable directory`,
    { cause: err },
  );
}
