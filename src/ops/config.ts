/** Configuration entry point: one loader per service (see ./config/services.ts). */
export {
  ConfigError,
  REDACTED,
  isSecretVariable,
  redactUrl,
  type ConfigProblem,
  type Env,
  type LogLevel,
} from './config/env.js';
export { describeConfig } from './config/describe.js';
export { KNOWN_VARIABLES, ignoredVariables } from './config/known.js';
export {
  APPLY_MODES,
  LIVE_CONFIRM_PHRASE,
  PAPER_DEFAULT_API_KEY,
  PAPER_DEFAULT_API_SECRET,
  PRODUCTION_BASE_URL,
  TESTNET_BASE_URL,
  DEFAULT_GOVERNOR_LIMITS,
  configWarnings,
  loadApplyConfig,
  loadGovernorConfig,
  loadP33Config,
  loadPaperConfig,
  type ApplyConfig,
  type ApplyMode,
  type AutoDisarmConfig,
  type BinanceConfig,
  type ConfigWarning,
  type GovernorConfig,
  type P33Config,
  type PaperConfig,
  type PermitSecrets,
  type SignedPermitsConfig,
  type SignedPlansConfig,
  type RedisConfig,
  type ServiceConfig,
} from './config/services.js';
