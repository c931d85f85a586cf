export { RoundRobin } from './round-robin.js';
export {
  WeightedRoundRobin,
  MAX_WEIGHT,
  type WeightedEntry,
  type ResolvedWeightedEntry,
} from './weighted-round-robin.js';
export { RoundRobinError, type RoundRobinErrorCode } from './errors.js';
