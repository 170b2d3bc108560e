// A module resolution hook for development: resolves workspace packages to
// their TypeScript sources by adding the @corbel/source export condition, as
// `node --conditions=@corbel/source` would, without a second process.
export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions.includes('@corbel/source')
    ? context.conditions
    : [...context.conditions, '@corbel/source'];
  return nextResolve(specifier, { ...context, conditions });
}
