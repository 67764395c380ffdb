/**
 * Checks that span sections of the configuration: every name used in one place is defined in
 * another (notify targets in `webhooks`, dimensions among the built-ins or `attributes`), and
 * names that must be unique are. Runs on the validated shape; problems carry the key path.
 */
import { BUILTIN_DIMENSIONS, WINDOW_METRICS } from './types.js';
import { closest, formatPath, type ConfigProblem } from './errors.js';
import type { FileConfig } from './schema.js';
import { checkPipelines } from './pipelines-check.js';

/** Budget scope meaning the total spend, not a dimension. */
export const ALL_SCOPE = 'all';

export function crossCheck(c: FileConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const builtins: readonly string[] = BUILTIN_DIMENSIONS;

  // Attributes: unique, and not a name that already means something.
  const attributes: string[] = [];
  c.attributes.forEach((a, i) => {
    const path = ['attributes', i, 'name'];
    if (builtins.includes(a.name)) problems.push({ path, message: `"${a.name}" is a built-in dimension; choose another attribute name` });
    else if (a.name === ALL_SCOPE) problems.push({ path, message: `"all" means the total spend in budgets; choose another attribute name` });
    else if (attributes.includes(a.name)) problems.push({ path, message: `"${a.name}" is defined twice` });
    attributes.push(a.name);
  });
  const dimensions = [...builtins, ...attributes];

  const checkDimension = (d: string, path: (string | number)[], extra: readonly string[] = []): void => {
    if (dimensions.includes(d) || extra.includes(d)) return;
    const hint = closest(d, [...dimensions, ...extra]);
    problems.push({
      path,
      message:
        `"${clip(d)}" is neither a built-in dimension (${builtins.join(', ')}) nor a configured attribute` +
        (attributes.length > 0 ? ` (${attributes.join(', ')})` : ' (none configured)') +
        (hint !== null ? `; did you mean "${hint}"?` : ''),
    });
  };

  c.metrics.dimensions.forEach((d, i) => checkDimension(d, ['metrics', 'dimensions', i]));

  const targets = ['log', ...Object.keys(c.webhooks)];
  const checkNotify = (list: string[], path: (string | number)[]): void => {
    list.forEach((n, i) => {
      if (targets.includes(n)) return;
      const hint = closest(n, targets);
      problems.push({
        path: [...path, i],
        message: `"${clip(n)}" is not a webhook in webhooks (nor "log")${hint !== null ? `; did you mean "${hint}"?` : ''}`,
      });
    });
  };

  const names = new Map<string, string>();
  const checkName = (n: string, section: string, i: number): void => {
    const before = names.get(n);
    if (before !== undefined) problems.push({ path: [section, i, 'name'], message: `"${n}" is already the name of ${before}` });
    else names.set(n, formatPath([section, i]));
  };

  c.alerts.forEach((a, i) => {
    checkName(a.name, 'alerts', i);
    for (const d of Object.keys(a.filters)) checkDimension(d, ['alerts', i, 'filters', d]);
    checkNotify(a.notify, ['alerts', i, 'notify']);
  });
  c.budgets.forEach((b, i) => {
    checkName(b.name, 'budgets', i);
    checkDimension(b.scope, ['budgets', i, 'scope'], [ALL_SCOPE]);
    checkNotify(b.notify, ['budgets', i, 'notify']);
  });
  problems.push(...checkPipelines(c.pipelines));
  return problems;
}

/** The message for a metric that is not in the grammar of src/config/types.ts. */
export function metricMessage(value: unknown): string {
  const shown = typeof value === 'string' ? `"${clip(value)}"` : 'the value';
  const hint = typeof value === 'string' ? closest(value, WINDOW_METRICS) : null;
  return (
    `${shown} is not a metric${hint !== null ? ` (did you mean "${hint}"?)` : ''}: ` +
    `one of ${WINDOW_METRICS.join(', ')}, or score:NAME, score_min:NAME, score_count:NAME`
  );
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
