import { UserError } from './errors.js';

/** `--listen` forms: `3000`, `:3000`, `127.0.0.1:3000`, `0.0.0.0:8080`, `[::1]:3000`, `localhost`. */
export function parseListen(value: string, defaultPort = 3000): { host: string; port: number } {
  const v = value.trim();
  let host = '127.0.0.1';
  let portText: string | undefined;
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(v);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if (/^\d+$/.test(v)) {
    portText = v;
  } else if (v.startsWith(':')) {
    portText = v.slice(1);
  } else {
    const colon = v.lastIndexOf(':');
    if (colon > 0 && v.indexOf(':') === colon) {
      host = v.slice(0, colon);
      portText = v.slice(colon + 1);
    } else {
      host = v;
    }
  }
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || host === '') {
    throw new UserError(`--listen ${value}: expected [HOST:]PORT, e.g. 127.0.0.1:3000`, 2);
  }
  return { host, port };
}
