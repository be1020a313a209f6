import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * A checker for `Authorization: Basic …` against exactly one user name and password. Both sides are
 * hashed first so the timing-safe comparison always sees equal lengths and leaks neither length nor
 * content. User names cannot contain ':' (RFC 7617), so comparing "user:password" as a whole is exact.
 */
export function basicAuthChecker(
  username: string,
  password: string,
): (header: string | undefined) => boolean {
  if (username.includes(':')) throw new TypeError('a Basic auth user name cannot contain ":"');
  const expected = digest(`${username}:${password}`);
  return (header) => {
    const match = header === undefined ? null : /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header);
    if (!match) return false;
    return timingSafeEqual(digest(Buffer.from(match[1]!, 'base64').toString('utf8')), expected);
  };
}
