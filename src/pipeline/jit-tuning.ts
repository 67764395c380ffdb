/**
 * V8's tier-up threshold for the capture pipeline (issue 2: the per-packet and per-event cost of
 * a replay).
 *
 * A replay runs a few hundred functions millions of times, and the optimizing compiler's work is
 * a large share of its CPU: on the 200 MB benchmark (Node 20, one core) TurboFan compiled 177
 * functions on background threads, ~23% of all CPU samples, 14 of them deoptimized and compiled
 * again. V8 optimizes a function once it has run `--interrupt-budget` bytes of bytecode (66 KB
 * in Node 20); at that point a per-call function (a decoder's stream loop, the call record) has
 * seen a handful of calls, so it is compiled on thin type feedback and thrown away at the first
 * shape it had not met. A budget ~4× larger compiles about half as many functions (99), with
 * 3 deoptimizations, while the hot loops still reach optimized code within the first
 * megabytes of a capture: ~0.2–0.35 s less CPU on the 200 MB replay (about 10%), no loss on
 * 20 MB. Nothing but speed depends on it (the benchmark and corpus outputs are byte-identical).
 *
 * The flag is process-wide (worker threads share it) and is a plain number V8 reads whenever a
 * function's budget is reset, which is why changing it after start-up is safe (Node warns that
 * v8.setFlagsFromString may do nothing or worse for flags that are not). The CLI sets it once,
 * after a pipeline command's modules are loaded and before any pipeline code has run
 * (src/cli/main.ts `pipelineCommand`): any non-default V8 flag makes V8 reject Node's built-in
 * code cache, so Node modules loaded after it are compiled from source (the ~30 a replay loads:
 * 30M instructions on the demo replay). A budget given to node on its command line is left alone (and costs that cache
 * for every Node module).
 */
import { setFlagsFromString } from 'node:v8';

/** Bytes of bytecode run before a function is considered for optimization (see above). */
export const PIPELINE_INTERRUPT_BUDGET = 250_000;

let tuned = false;

/** The V8 flag the pipeline sets, or null when node was started with its own budget (V8 takes
 * `_` for `-` in flag names, and a value as the next argument). */
export function pipelineJitFlag(execArgv: readonly string[]): string | null {
  for (const a of execArgv) {
    if (a.replace(/_/g, '-').split('=')[0] === '--interrupt-budget') return null;
  }
  return `--interrupt-budget=${PIPELINE_INTERRUPT_BUDGET}`;
}

/** Sets the pipeline's tier-up threshold, once; true when this call set it. */
export function tuneJitForPipeline(execArgv: readonly string[] = process.execArgv): boolean {
  if (tuned) return false;
  tuned = true;
  const flag = pipelineJitFlag(execArgv);
  if (flag === null) return false;
  setFlagsFromString(flag);
  return true;
}
