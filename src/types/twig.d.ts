// The part of twig.js we use. Filters and functions may return any value, not only strings.
declare module 'twig' {
  interface Template {
    render(context?: Record<string, unknown>): string;
    /** The parsed template: walked to list the filters, functions and variables it uses. */
    tokens: unknown;
  }
  export interface TwigStatic {
    twig(options: { data: string; rethrow?: boolean; autoescape?: boolean }): Template;
    extendFunction(name: string, fn: (...args: never[]) => unknown): void;
    extendFilter(name: string, fn: (value: never, args?: never[]) => unknown): void;
    /** A new, independent instance (its own functions and filters). */
    factory(): TwigStatic;
    /** The registered filters and functions, by name (built-in and extended). */
    filters: Record<string, unknown>;
    functions: Record<string, unknown>;
  }
  const Twig: TwigStatic;
  export default Twig;
}
