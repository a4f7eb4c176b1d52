/**
 * METRICS_HOST: the address a service's ops server (/metrics, /healthz) listens on, read by every
 * service's loader. Unset: all interfaces (0.0.0.0), as before this setting existed, so existing
 * scrapers keep working.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import type { EnvReader, Field } from './env.js';

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

function listenHostField(): Field<string> {
  return {
    expected:
      'an address to listen on: an IPv4 or IPv6 address or a host name (e.g. 127.0.0.1, ::1, 0.0.0.0)',
    schema: z
      .string()
      .trim()
      .refine((s) => isIP(s) !== 0 || HOST_NAME.test(s)),
  };
}

/** The configured listen address, null when METRICS_HOST is unset (the ops server's default applies). */
export function readMetricsHost(r: EnvReader): string | null {
  return r.get('METRICS_HOST', listenHostField(), null as string | null);
}
