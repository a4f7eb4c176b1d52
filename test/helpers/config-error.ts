/** The ConfigError a config loader throws (its problems name each variable); fails when it loads. */
import { ConfigError } from '../../src/ops/config.js';

export function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
