/** ES2024's String.prototype.isWellFormed (no lone surrogate; V8 11.x, Node ≥ 20): the project's
 * TypeScript lib is ES2023, so it is reached through this one cast. */
export function isWellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}
