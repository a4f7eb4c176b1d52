/**
 * HISTORY_URL: the history database (`sqlite:<path>`, the default, or `postgres://…`), read by
 * every command that reads or writes the history. The URL may hold a password: it is shown
 * only through redactUrl().
 */
import { z } from 'zod';
import { historyDialectOf } from '../../history/db.js';
import { deepFreeze, EnvReader, type Env, type Field } from './env.js';

export const DEFAULT_HISTORY_URL = 'sqlite:quantum-history.db';

export function historyUrlField(): Field<string> {
  return {
    expected: 'sqlite:<path> or postgres://user@host:port/database',
    schema: z
      .string()
      .trim()
      .refine((s) => typeof historyDialectOf(s) === 'string'),
  };
}

export function readHistoryUrl(r: EnvReader): string {
  return r.get('HISTORY_URL', historyUrlField(), DEFAULT_HISTORY_URL);
}

export interface HistoryConfig {
  url: string;
}

/** What the history commands (history, replay, explain's fallback) read. */
export function loadHistoryConfig(env: Env = process.env): HistoryConfig {
  const r = new EnvReader(env);
  const url = readHistoryUrl(r);
  r.finish('history');
  return deepFreeze({ url });
}
