/**
 * A key that holds another type than the one read from it (`SET` where a hash belongs, a list,
 * a stream): the server answers, and says the value is wrong. That is bad input at that key, not
 * an outage: callers name the key and this text instead of waiting for Redis as if it were down.
 * Both adapters answer with Redis's own text (ioredis's ReplyError, the memory keyspace).
 */
const WRONGTYPE = /^WRONGTYPE\b/;

/** The server's WRONGTYPE reply text, or null for any other failure (connection, timeout, bug). */
export function wrongTypeError(err: unknown): string | null {
  if (!(err instanceof Error) || !WRONGTYPE.test(err.message)) return null;
  return err.message.slice(0, 200);
}
