/**
 * Installs the pinned agent CLIs into the scratch folder (never into the project's
 * dependencies) and finds their executables. An install whose versions match is reused.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot } from '../corpus.js';
import { CLIENT_PACKAGES, type ClientName } from './versions.js';

/** Gitignored; holds node_modules with the CLIs (~800 MB: both ship native binaries). */
export const scratchDir = join(repoRoot, 'test', 'clients', '.scratch');
/** Downloading ~250 MB of tarballs took 22 s here; allow slow mirrors. */
const INSTALL_TIMEOUT_MS = 10 * 60_000;
/** `--version` of a native binary answers in well under a second. */
const VERSION_TIMEOUT_MS = 30_000;

export interface ClientCommand {
  /** Program to spawn and the arguments before the CLI's own. */
  file: string;
  prefix: string[];
}

function packageDir(name: ClientName): string {
  return join(scratchDir, 'node_modules', ...CLIENT_PACKAGES[name].name.split('/'));
}

function installedVersion(name: ClientName): string | null {
  try {
    const pkg = JSON.parse(readFileSync(join(packageDir(name), 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : null;
  } catch {
    return null;
  }
}

/** The executable named by the package's `bin`; node scripts run with this node, so PATH need
 * not hold one. */
export function clientCommand(name: ClientName): ClientCommand {
  const dir = packageDir(name);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { bin?: unknown };
  const bin = pkg.bin;
  const rel = typeof bin === 'string' ? bin : typeof bin === 'object' && bin !== null ? Object.values(bin as Record<string, unknown>)[0] : undefined;
  if (typeof rel !== 'string') throw new Error(`${CLIENT_PACKAGES[name].name} has no bin entry`);
  const file = join(dir, rel);
  return /\.(c|m)?js$/.test(file) ? { file: process.execPath, prefix: [file] } : { file, prefix: [] };
}

function versionOutput(name: ClientName): string {
  const cmd = clientCommand(name);
  const r = spawnSync(cmd.file, [...cmd.prefix, '--version'], {
    encoding: 'utf8',
    timeout: VERSION_TIMEOUT_MS,
    env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: scratchDir },
  });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

function runs(name: ClientName): boolean {
  try {
    return versionOutput(name).includes(CLIENT_PACKAGES[name].version);
  } catch {
    return false;
  }
}

/** Installs when a pinned version is missing, then checks that each CLI runs and says its
 * version. Throws with npm's output when the install fails (no registry, no disk…). */
export function ensureClientsInstalled(): void {
  const names = Object.keys(CLIENT_PACKAGES) as ClientName[];
  if (names.every((n) => installedVersion(n) === CLIENT_PACKAGES[n].version && runs(n))) return;
  mkdirSync(scratchDir, { recursive: true });
  // A package.json naming exactly the pinned versions: `npm install` then prunes anything else.
  const dependencies = Object.fromEntries(names.map((n) => [CLIENT_PACKAGES[n].name, CLIENT_PACKAGES[n].version]));
  writeFileSync(join(scratchDir, 'package.json'), `${JSON.stringify({ private: true, name: 'llmtap-agent-clients', dependencies }, null, 2)}\n`);
  const npm = spawnSync('npm', ['install', '--prefix', scratchDir, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: scratchDir,
    encoding: 'utf8',
    timeout: INSTALL_TIMEOUT_MS,
  });
  if (npm.status !== 0) throw new Error(`npm install of the agent CLIs failed (${npm.status ?? npm.signal}): ${npm.stdout}\n${npm.stderr}`);
  // Claude Code's postinstall links the platform's native binary over a placeholder; an npm
  // that skips install scripts leaves the placeholder, so run the script ourselves then.
  const claudeInstall = join(packageDir('claude'), 'install.cjs');
  if (!runs('claude') && existsSync(claudeInstall)) {
    spawnSync(process.execPath, [claudeInstall], { cwd: packageDir('claude'), encoding: 'utf8', timeout: INSTALL_TIMEOUT_MS });
  }
  for (const n of names) {
    if (!runs(n)) throw new Error(`${CLIENT_PACKAGES[n].name}@${CLIENT_PACKAGES[n].version} does not run: ${versionOutput(n)}`);
  }
}
