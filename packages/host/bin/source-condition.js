// A module resolution hook (node:module register) for running the TypeScript
// sources: it adds the "colony-source" condition, under which the @colony/*
// packages' exports name their src/*.ts files instead of the compiled dist/*.js.
export async function resolve(specifier, context, nextResolve) {
  return nextResolve(specifier, { ...context, conditions: [...context.conditions, "colony-source"] });
}
