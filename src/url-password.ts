/**
 * Whatever sits between a `user:` and `@`, and the value of a `?password=`-like query parameter, as
 * `***`: also where a URL lacks its `//` or its scheme (`app:pw@host/db` parses as the scheme `app:`,
 * with no password for `URL` to take out).
 */
export function hidePasswords(text: string): string {
  return text
    .replace(/([^\s/:@]*:)[^@\s/]*@/g, (_, user: string) => `${user}***@`)
    .replace(/([?&][^=&\s]*pass[^=&\s]*=)[^&\s]*/gi, '$1***');
}
