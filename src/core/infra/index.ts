export * from './problems';
export * from './env-file';
export * from './interpolate';
export * from './compose';
export * from './discovery';
export * from './sourced';
