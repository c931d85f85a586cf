export { describe } from './describe.js';
export { expected } from './expected.js';
export { isIntegerInRange, isNumberInRange, isPlainObject, isItemIterable } from './checks.js';
export { optionChecks, MAX_TIMER_MS, type OptionChecks } from './option-checks.js';
export { jsonErrorBody, sendJsonError } from './json-error.js';
