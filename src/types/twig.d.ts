// The part of twig.js we use. Filters and functions may return any value, not only strings.
declare module 'twig' {
  interface Template {
    render(context?: Record<string, unknown>): string;
  }
  export interface TwigStatic {
    twig(options: { data: string; rethrow?: boolean; autoescape?: boolean }): Template;
    extendFunction(name: string, fn: (...args: never[]) => unknown): void;
    extendFilter(name: string, fn: (value: never, args?: never[]) => unknown): void;
    /** A new, independent instance (its own functions and filters). */
    factory(): TwigStatic;
  }
  const Twig: TwigStatic;
  export default Twig;
}
