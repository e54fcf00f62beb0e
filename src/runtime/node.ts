// import() of a Node built-in (also served by Deno and Bun), written so that no bundler or minifier
// sees a literal specifier: the library bundle stays free of node: imports and runs in browsers and
// workerd, and the module is only loaded where the code path that needs it runs.

/** `import('node:' + name)`, resolved at run time only. */
export function importNode<T>(name: string): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ `node:${name}`) as Promise<T>;
}
